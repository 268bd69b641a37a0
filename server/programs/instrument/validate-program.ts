/**
 * Refuses, with a message a user can act on, what the instrumentation cannot
 * make checkpointable (issue 4: a 400 at posting time): threads the program
 * would start, a missing `_start`, imports the grid does not provide, names
 * that would collide with ours, and state we could not save.
 */
import { CKPT_MODULE } from '../../../shared/checkpointable-abi.ts';
import { GRID_FUNCTIONS, GRID_MODULE, WASI_FUNCTIONS, WASI_MODULE } from '../../../shared/program-imports.ts';
import { invalid } from '../wasm-binary.ts';
import { B } from './binaryen-api.ts';
import type { Module } from './binaryen-api.ts';

const PROVIDED = new Map<string, ReadonlySet<string>>([
  [WASI_MODULE, new Set(WASI_FUNCTIONS)],
  [GRID_MODULE, new Set(GRID_FUNCTIONS)],
]);

function describeImport(i: WebAssembly.ModuleImportDescriptor): string {
  return `${i.module}.${i.name} (${i.kind})`;
}

/** Checks imports and exports with the engine's own reader (the bytes as share-memory.ts rewrote them). */
export function validateInterface(compiled: WebAssembly.Module): void {
  const imports = WebAssembly.Module.imports(compiled);
  const threads = imports.find((i) => /^thread[-_]spawn$/.test(i.name));
  if (threads) {
    throw invalid(`the program starts threads (it imports ${describeImport(threads)}); a grid task runs on one thread: build it without thread support`);
  }
  const unknown = imports.filter((i) => {
    if (i.module === 'env' && i.name === 'memory' && i.kind === 'memory') return false;
    return !(i.kind === 'function' && PROVIDED.get(i.module)?.has(i.name));
  });
  if (unknown.length > 0) {
    const more = unknown.length > 1 ? ` (and ${unknown.length - 1} more: ${unknown.slice(1, 6).map(describeImport).join(', ')})` : '';
    const reserved = unknown[0]!.module === CKPT_MODULE ? '; the "ckpt" module is reserved for the grid' : '';
    throw invalid(`the program imports ${describeImport(unknown[0]!)}, which the grid does not provide${more}${reserved}`);
  }
  const exports = WebAssembly.Module.exports(compiled);
  if (!exports.some((e) => e.name === '_start' && e.kind === 'function')) {
    throw invalid('the module exports no _start function: build it as a WASI command');
  }
  const clash = exports.find((e) => e.name.startsWith('ckpt_') || e.name.startsWith('asyncify_'));
  if (clash) throw invalid(`the program exports "${clash.name}"; names starting with ckpt_ or asyncify_ are reserved for the grid`);
}

const SAVABLE = new Set<number>([B.i32, B.i64, B.f32, B.f64]);

/** Checks what only the parsed module shows: a start function, and mutable globals we could not save. */
export function validateModule(m: Module): void {
  if (m.getStart()) {
    throw invalid('the module has a wasm start function, which would run again at every restore; export it as _start (a WASI command) instead');
  }
  for (let i = 0; i < m.getNumGlobals(); i++) {
    const info = B.getGlobalInfo(m.getGlobalByIndex(i));
    if (info.mutable && !SAVABLE.has(info.type)) {
      throw invalid(`global ${info.name} is mutable and of a type a checkpoint cannot save (only i32, i64, f32, f64)`);
    }
  }
}
