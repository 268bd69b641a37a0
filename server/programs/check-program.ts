/**
 * The checks a posted program passes before anything is stored, and its
 * runnable form: a wasm module must compile, export `_start` and work with
 * its memory made the shared process memory (share-memory.ts); a JS program
 * must be UTF-8 and name `init` and `step`. These are quick and run on the
 * event loop; the instrumentation's own checks run in its worker.
 */
import { GridError } from '../../shared/errors.ts';
import { MAX_MEMORY_PAGES } from '../../shared/limits.ts';
import type { ProgramFormat } from '../../shared/states.ts';
import type { MemoryLimits } from '../../shared/volunteer-protocol.ts';
import { shareMemory } from './share-memory.ts';

/** Process memory of a JS step program at start, in 64 KiB pages (it may grow). */
const JS_INITIAL_PAGES = 16;

/** Node's buffers are typed as possibly shared; these never are. */
const asSource = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

export interface CheckedProgram {
  /** What volunteers run before instrumentation: for wasm, the module with its memory made shared; for JS, the bytes as posted. */
  runnable: Uint8Array;
  memory: MemoryLimits;
}

function checkWasm(bytes: Uint8Array): CheckedProgram {
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(asSource(bytes));
  } catch (error) {
    throw new GridError('InvalidProgram', `not a valid WebAssembly module: ${(error as Error).message}`);
  }
  const start = WebAssembly.Module.exports(module).find((e) => e.name === '_start');
  if (!start || start.kind !== 'function') {
    throw new GridError('InvalidProgram', 'the module exports no _start function: build it as a WASI command');
  }
  const { bytes: runnable, memory } = shareMemory(bytes, MAX_MEMORY_PAGES);
  try {
    new WebAssembly.Module(asSource(runnable));
  } catch (error) {
    throw new GridError('InvalidProgram', `the module cannot use a shared memory: ${(error as Error).message}`);
  }
  return { runnable, memory };
}

function checkJs(bytes: Uint8Array): CheckedProgram {
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new GridError('InvalidProgram', 'a JS program must be UTF-8 text');
  }
  for (const name of ['init', 'step']) {
    if (!new RegExp(`\\b${name}\\b`).test(source)) {
      throw new GridError('InvalidProgram', `a JS step program exports init(ctx) and step(ctx); "${name}" is missing`);
    }
  }
  return { runnable: bytes, memory: { initial: JS_INITIAL_PAGES, maximum: MAX_MEMORY_PAGES } };
}

/** Checks a program as posted (throws InvalidProgram with the reason) and returns its runnable form. */
export function checkProgram(bytes: Uint8Array, format: ProgramFormat): CheckedProgram {
  return format === 'wasm' ? checkWasm(bytes) : checkJs(bytes);
}
