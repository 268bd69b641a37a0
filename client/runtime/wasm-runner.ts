/**
 * Runs a WASI command to the end: creates the shared process memory from the
 * spec, the WASI shim and the grid imports, checks the module's imports, calls
 * `_start`. `proc_exit(code)` ends it with `code`; returning from `_start` is exit 0.
 *
 * A module the coordinator instrumented (server/programs/instrument; every
 * posted program is) runs under the checkpointable driver: its barrier marks
 * the task's tracker, its polls stop it for a checkpoint wherever it is, and
 * a run can resume from such a checkpoint, mid-loop or mid-recursion
 * (issue 4, claim 81). A module that was not instrumented (tools, tests) runs
 * as it is, without checkpoints.
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import { CKPT_SECTION } from '../../shared/checkpointable-abi.ts';
import type { CheckpointableState } from '../../shared/checkpointable-abi.ts';
import { PageTracker } from '../checkpoint/tracker.ts';
import { CheckpointableProgram } from './checkpointable/checkpointable-program.ts';
import type { CheckpointableOptions } from './checkpointable/checkpointable-options.ts';
import { createTrackerMemory } from './checkpointable/tracker-memory.ts';
import type { TaskOutcome, TaskSpec } from './task-protocol.ts';
import { createGridImports } from './grid-imports.ts';
import { GuestMemory } from './guest-memory.ts';
import { checkImports } from './import-check.ts';
import { liveness, WatchMode } from './liveness.ts';
import type { RunHooks, SuspendHooks } from './run-hooks.ts';
import { TaskError } from './task-error.ts';
import { asTaskFailure } from './task-failure.ts';
import { ProcExit } from './wasi/proc-exit.ts';
import { seedPrng } from './wasi/prng.ts';
import { createWasiImports } from './wasi/wasi-shim.ts';

const WASM_PAGE = 65536;

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

function isInstrumented(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.customSections(module, CKPT_SECTION).length > 0;
}

function checkStart(module: WebAssembly.Module): void {
  if (!WebAssembly.Module.exports(module).some((e) => e.name === '_start' && e.kind === 'function')) {
    throw new TaskError('InvalidProgram', 'the module exports no _start function: build it as a WASI command');
  }
}

/** What a wasm run saves in its checkpoints: the driver's state, tagged. */
type WasmState = { runtime: 'wasm' } & CheckpointableState;

function asWasmState(value: JsonValue): WasmState {
  const state = value as Partial<WasmState> | null;
  if (typeof state !== 'object' || state === null || state.runtime !== 'wasm' || typeof state.abi !== 'number') {
    throw new TaskError('InvalidCheckpoint', `not the checkpoint of an instrumented WebAssembly program: ${JSON.stringify(value).slice(0, 200)}`);
  }
  return state as WasmState;
}

/** A tracker nobody saves from, for an instrumented program run without checkpoints: its barrier needs one. */
function trackerOfItsOwn(memory: WebAssembly.Memory, spec: TaskSpec): SuspendHooks {
  const { memory: trackerMemory, buffers } = createTrackerMemory({ maxBytes: spec.memory.maximum * WASM_PAGE, pageSize: spec.pageSize });
  const tracker = new PageTracker(buffers, memory);
  return {
    tracker: { memory: trackerMemory, markWrite: (address, length) => tracker.markWrite(address, length) },
    canSuspend: () => false,
    suspend: () => {
      throw new Error('no checkpoint was requested');
    },
  };
}

/**
 * Runs `module` (as the coordinator serves it: memory imported as shared
 * `env.memory`, and instrumented) for `spec`, from the start or, given
 * `resumed`, from the checkpoint the process memory already holds. Rejects
 * with UnsupportedImport, InvalidProgram, InvalidCheckpoint, ProgramTrap, or
 * the named error an import threw.
 */
export async function runWasm(module: WebAssembly.Module, spec: TaskSpec, hooks: RunHooks, resumed?: JsonValue): Promise<TaskOutcome> {
  checkStart(module);
  if (!isInstrumented(module)) {
    if (resumed !== undefined) throw new TaskError('InvalidCheckpoint', 'this module was not instrumented for checkpoints, so it cannot resume from one');
    return runAsIs(module, spec, hooks);
  }
  const memory = spec.checkpoint?.memory ?? createProcessMemory(spec.memory);
  const suspendable = hooks.suspendable ?? trackerOfItsOwn(memory, spec);
  const options: CheckpointableOptions = {
    module,
    memory,
    argv: [spec.programName, ...spec.args],
    env: spec.env,
    write: (fd, bytes) => hooks.output(fd === 1 ? 'stdout' : 'stderr', bytes),
    grid: (access) => ({ ...createGridImports({ rank: spec.rank, size: spec.ranks, progress: hooks.progress, ...(hooks.port && { port: hooks.port }) }, access) }),
    tracker: suspendable.tracker,
    canSuspend: () => suspendable.canSuspend(),
    onSuspend: (state) => suspendable.suspend(() => ({ runtime: 'wasm', ...state }) as WasmState as unknown as JsonValue),
  };
  try {
    const program =
      resumed === undefined ? await CheckpointableProgram.start(options, seedPrng(spec.seed)) : await CheckpointableProgram.resume(options, asWasmState(resumed));
    // The page can probe it through the tracker it holds; a tracker of its own nobody else sees.
    liveness.watch(hooks.suspendable ? WatchMode.PROBED : WatchMode.UNWATCHED);
    const outcome: TaskOutcome = program.run();
    // Every checkpoint taken on the way rewinds once too; one more means the run began by going back into the checkpoint's stack.
    if (resumed !== undefined) outcome.rewound = program.rewinds > program.suspensions;
    return outcome;
  } catch (error) {
    if (error instanceof WebAssembly.LinkError) throw new TaskError('InvalidProgram', error.message);
    if (error instanceof ProcExit) return { exitCode: error.code };
    throw asTaskFailure(error);
  }
}

/** A module that was not instrumented: no checkpoints. It may import the shared memory or define its own. */
async function runAsIs(module: WebAssembly.Module, spec: TaskSpec, hooks: RunHooks): Promise<TaskOutcome> {
  const memory = importsSharedMemory(module) ? (spec.checkpoint?.memory ?? createProcessMemory(spec.memory)) : undefined;
  const guest = new GuestMemory(memory);
  const wasi = createWasiImports({
    argv: [spec.programName, ...spec.args],
    env: spec.env,
    memory: guest,
    prng: seedPrng(spec.seed),
    write: (fd, bytes) => hooks.output(fd === 1 ? 'stdout' : 'stderr', bytes),
  });
  const imports: WebAssembly.Imports = {
    env: memory ? { memory } : {},
    wasi_snapshot_preview1: wasi,
    // Not instrumented: it cannot suspend, so a coordinated checkpoint never reaches it while it waits.
    grid: { ...createGridImports({ rank: spec.rank, size: spec.ranks, progress: hooks.progress, ...(hooks.port && { port: hooks.port }) }, { memory: guest, suspendHere: () => false }) },
  };
  try {
    checkImports(module, imports);
    const instance = await WebAssembly.instantiate(module, imports);
    liveness.watch(WatchMode.UNWATCHED); // no polls: nothing to probe
    if (!memory) {
      const exported = instance.exports.memory;
      if (!(exported instanceof WebAssembly.Memory)) throw new TaskError('InvalidProgram', 'the program neither imports nor exports a memory');
      guest.bind(exported);
    }
    (instance.exports._start as () => void)();
    return { exitCode: 0 };
  } catch (error) {
    if (error instanceof WebAssembly.LinkError) throw new TaskError('InvalidProgram', error.message);
    if (error instanceof ProcExit) return { exitCode: error.code };
    throw asTaskFailure(error);
  }
}
