/**
 * Runs a WASI command to the end: creates the shared process memory from the
 * spec, the WASI shim and the grid imports, checks the module's imports, calls
 * `_start`. `proc_exit(code)` ends it with `code`; returning from `_start` is exit 0.
 *
 * Safepoints, until issue 4 instruments the module: right before `_start`
 * and at each `grid.progress` call. A checkpoint taken there holds the
 * memory but not the wasm stack, so it cannot be resumed yet (its state
 * says so); it does measure what checkpointing a real program costs.
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import type { TaskOutcome, TaskSpec } from './task-protocol.ts';
import { createGridImports } from './grid-imports.ts';
import { GuestMemory } from './guest-memory.ts';
import { checkImports } from './import-check.ts';
import type { RunHooks } from './run-hooks.ts';
import { TaskError } from './task-error.ts';
import { asTaskFailure } from './task-failure.ts';
import { ProcExit } from './wasi/proc-exit.ts';
import { seedPrng } from './wasi/prng.ts';
import { createWasiImports } from './wasi/wasi-shim.ts';

/** The process memory for `spec`: shared, so the checkpoint side can see it. */
export function createProcessMemory(limits: TaskSpec['memory']): WebAssembly.Memory {
  try {
    return new WebAssembly.Memory({ initial: limits.initial, maximum: limits.maximum, shared: true });
  } catch (error) {
    throw new TaskError('InvalidProgram', `cannot create a memory of ${limits.initial}..${limits.maximum} pages: ${(error as Error).message}`);
  }
}

function importsSharedMemory(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.module === 'env' && i.name === 'memory' && i.kind === 'memory');
}

async function instantiate(module: WebAssembly.Module, imports: WebAssembly.Imports): Promise<WebAssembly.Instance> {
  checkImports(module, imports);
  try {
    return await WebAssembly.instantiate(module, imports);
  } catch (error) {
    if (error instanceof WebAssembly.LinkError) throw new TaskError('InvalidProgram', error.message);
    throw error; // a trap or proc_exit in the module's start function
  }
}

function checkStart(module: WebAssembly.Module): void {
  if (!WebAssembly.Module.exports(module).some((e) => e.name === '_start' && e.kind === 'function')) {
    throw new TaskError('InvalidProgram', 'the module exports no _start function: build it as a WASI command');
  }
}

/**
 * Runs `module` (as rewritten by the coordinator: memory imported as shared
 * `env.memory`) for `spec`. A module that still defines its own memory runs on
 * that memory, for tools and tests. Rejects with UnsupportedImport, InvalidProgram,
 * ProgramTrap, or the named error an import threw.
 */
export async function runWasm(module: WebAssembly.Module, spec: TaskSpec, hooks: RunHooks, resumed?: JsonValue): Promise<TaskOutcome> {
  checkStart(module);
  if (resumed !== undefined) throw new TaskError('InvalidCheckpoint', 'a WebAssembly program cannot resume from a checkpoint yet: its stack is not captured (issue 4)');
  const memory = importsSharedMemory(module) ? (spec.checkpoint?.memory ?? createProcessMemory(spec.memory)) : undefined;
  const guest = new GuestMemory(memory);
  const wasi = createWasiImports({
    argv: [spec.programName, ...spec.args],
    env: spec.env,
    memory: guest,
    prng: seedPrng(spec.seed),
    write: (fd, bytes) => hooks.output(fd === 1 ? 'stdout' : 'stderr', bytes),
  });
  const safepoint = (at: string) => hooks.safepoint?.(() => ({ runtime: 'wasm', at, resumable: false }));
  const grid = createGridImports({ rank: spec.rank, size: spec.ranks, progress: hooks.progress, safepoint: () => safepoint('grid.progress') });
  const imports: WebAssembly.Imports = {
    env: memory ? { memory } : {},
    wasi_snapshot_preview1: wasi,
    grid: { ...grid },
  };
  try {
    const instance = await instantiate(module, imports);
    if (!memory) {
      const exported = instance.exports.memory;
      if (!(exported instanceof WebAssembly.Memory)) throw new TaskError('InvalidProgram', 'the program neither imports nor exports a memory');
      guest.bind(exported);
    }
    safepoint('_start');
    (instance.exports._start as () => void)();
    return { exitCode: 0 };
  } catch (error) {
    if (error instanceof ProcExit) return { exitCode: error.code };
    throw asTaskFailure(error);
  }
}
