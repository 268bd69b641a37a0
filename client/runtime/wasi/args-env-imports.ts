/** args_* and environ_*: NUL-terminated UTF-8 strings and a table of pointers to them. */
import { ERRNO } from './constants.ts';
import type { WasiContext, WasiFunction } from './wasi-context.ts';

function encodeAll(strings: readonly string[]): { items: Uint8Array[]; size: number } {
  const encoder = new TextEncoder();
  const items = strings.map((s) => encoder.encode(`${s}\0`));
  return { items, size: items.reduce((sum, item) => sum + item.length, 0) };
}

function sizesGet(context: WasiContext, strings: { items: Uint8Array[]; size: number }) {
  return (countPtr: number, sizePtr: number): number => {
    context.memory.writeU32(countPtr, strings.items.length);
    context.memory.writeU32(sizePtr, strings.size);
    return ERRNO.SUCCESS;
  };
}

function stringsGet(context: WasiContext, strings: { items: Uint8Array[] }) {
  return (pointersPtr: number, bufferPtr: number): number => {
    let offset = bufferPtr;
    strings.items.forEach((item, i) => {
      context.memory.writeU32(pointersPtr + i * 4, offset);
      context.memory.write(offset, item);
      offset += item.length;
    });
    return ERRNO.SUCCESS;
  };
}

/** `argv` is the program name followed by the arguments; `env` becomes `KEY=VALUE` entries. */
export function argsEnvImports(
  context: WasiContext,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
): Record<string, WasiFunction> {
  const args = encodeAll(argv);
  const environ = encodeAll(Object.entries(env).map(([key, value]) => `${key}=${value}`));
  return {
    args_sizes_get: sizesGet(context, args),
    args_get: stringsGet(context, args),
    environ_sizes_get: sizesGet(context, environ),
    environ_get: stringsGet(context, environ),
  };
}
