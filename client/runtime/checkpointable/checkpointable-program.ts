/**
 * Runs a program instrumented by server/programs/instrument (DESIGN.md §3–4,
 * issue 4): a WASI command whose stack can be unwound into its own memory at
 * any safepoint and rewound later, in this instance or in a fresh one on
 * another machine. No DOM or Node API: it runs in a Web Worker and in Node.
 *
 * Suspension: a poll calls `ckpt.safepoint` while a request is pending; if
 * `canSuspend()`, the driver starts Asyncify's unwind into the reserved top
 * pages and returns; `_start` returns with the stack saved; the driver
 * captures the globals and the WASI state, calls `onSuspend(state)`, sets the
 * barrier's E to the tracker's (new) interval, starts the rewind and calls
 * `_start` again, which rewinds into the safepoint and continues.
 *
 * Dirty pages the barrier cannot see, because they are written by Asyncify's
 * own code or by us: the unwind data is marked in interval k (before
 * onSuspend), and again in k + 1 before the rewind changes it (the tracker
 * copies a page still being saved first); the data segments at a fresh start.
 */
import { AsyncifyExport, AsyncifyState, CHECKPOINTABLE_ABI, CKPT_MODULE, CkptExport, CkptImport, DEFAULT_UNWIND_PAGES, TRACKER_REQUEST_WORD } from '../../../shared/checkpointable-abi.ts';
import type { CheckpointableState, CkptModuleInfo } from '../../../shared/checkpointable-abi.ts';
import { BLOCKING_GRID_FUNCTIONS } from '../../../shared/program-imports.ts';
import { TrackerWord } from '../../../shared/tracker-layout.ts';
import { trackerGeometry } from '../../checkpoint/tracker-words.ts';
import { GuestMemory } from '../guest-memory.ts';
import { checkImports } from '../import-check.ts';
import { liveness, realRequests } from '../liveness.ts';
import { TaskError } from '../task-error.ts';
import { ProcExit } from '../wasi/proc-exit.ts';
import type { PrngState } from '../wasi/prng.ts';
import type { CheckpointableOptions } from './checkpointable-options.ts';
import { loadGlobal, saveGlobal } from './global-values.ts';
import { readModuleInfo } from './module-info.ts';
import { WASM_PAGE, clearRegion, prepareUnwind, reserveRegion, unwindEnd } from './unwind-region.ts';
import { WasiWithState } from './wasi-state.ts';

type Exports = Record<string, WebAssembly.ExportValue>;

export class CheckpointableProgram {
  private instance!: WebAssembly.Instance;
  /** Looked up once: a pending request calls the safepoint at every poll until it is served. */
  private served: WebAssembly.Global | undefined;
  private request: WebAssembly.Global | undefined;
  private readonly info: CkptModuleInfo;
  private readonly trackerWords: Int32Array | undefined;
  private readonly wasi: WasiWithState;
  private readonly guest: GuestMemory;
  /** Set while a rewind is under way; the safepoint it reaches ends it. */
  private rewind: { address: number; end: number } | null = null;
  private unwinding: { address: number } | null = null;
  /** Checkpoints taken by this instance. */
  suspensions = 0;
  /** Rewinds that reached their safepoint: the stack of a checkpoint (the one resumed from, or one just taken) is back. */
  rewinds = 0;

  private constructor(
    private readonly options: CheckpointableOptions,
    prng: PrngState,
    saved?: CheckpointableState,
  ) {
    this.info = readModuleInfo(options.module);
    const needsTracker = this.info.barrier || this.info.request === 'tracker';
    if (needsTracker && !options.tracker) throw new TaskError('InvalidProgram', 'the module needs a tracker memory (ckpt.tracker) and none was given');
    this.trackerWords = options.tracker ? new Int32Array(options.tracker.memory.buffer) : undefined;
    const markWrite = this.info.barrier ? options.tracker?.markWrite : undefined;
    this.guest = new GuestMemory(options.memory, markWrite ? (ptr, length) => markWrite(ptr, length) : undefined);
    this.wasi = new WasiWithState({ argv: options.argv, env: options.env, memory: this.guest, write: options.write }, prng, saved && { ...saved.wasi, output: saved.output });
  }

  /** Instantiates the module for a fresh run (call `run()` next). */
  static async start(options: CheckpointableOptions, prng: PrngState): Promise<CheckpointableProgram> {
    const program = new CheckpointableProgram(options, prng);
    await program.instantiate();
    const mark = options.tracker?.markWrite;
    // The data segments were written by instantiation, which no barrier saw.
    if (program.info.barrier && mark) for (const [offset, length] of program.info.dataRanges) mark(offset, length);
    return program;
  }

  /**
   * Instantiates the module on a memory that already holds checkpoint
   * `state`'s bytes (and size) and prepares the rewind into its stack.
   */
  static async resume(options: CheckpointableOptions, state: CheckpointableState): Promise<CheckpointableProgram> {
    if (state.abi !== CHECKPOINTABLE_ABI) throw new TaskError('InvalidProgram', `checkpoint state of ABI ${state.abi}; this runtime speaks ${CHECKPOINTABLE_ABI}`);
    if (options.memory.buffer.byteLength !== state.memoryPages * WASM_PAGE) {
      throw new RangeError(`the memory has ${options.memory.buffer.byteLength / WASM_PAGE} pages; the checkpoint has ${state.memoryPages}`);
    }
    const program = new CheckpointableProgram(options, state.wasi.prng, state);
    // Instantiation rewrites the active data segments: keep what the checkpoint has there.
    const kept = program.info.dataRanges.map(([offset, length]) => new Uint8Array(options.memory.buffer, offset, length).slice());
    await program.instantiate();
    program.info.dataRanges.forEach(([offset], i) => new Uint8Array(options.memory.buffer, offset).set(kept[i]!));
    for (const [name] of program.info.globals) loadGlobal(program.global(name), state.globals[name]!);
    program.global(CkptExport.RESERVED_PAGES).value = state.reservedPages;
    program.rewind = { address: state.unwind.address, end: state.unwind.end };
    return program;
  }

  /** Runs the program to its end (through any number of checkpoints); returns its exit code. */
  run(): { exitCode: number } {
    const exports = this.instance.exports as Exports;
    const call = (name: string, ...args: number[]) => (exports[name] as (...a: number[]) => number)(...args);
    try {
      for (;;) {
        if (this.rewind) {
          this.options.tracker?.markWrite(this.rewind.address, this.rewind.end - this.rewind.address);
          call(AsyncifyExport.START_REWIND, this.rewind.address);
        }
        try {
          call('_start');
        } catch (error) {
          if (this.unwinding && !(error instanceof ProcExit)) {
            throw new TaskError('ProgramTrap', `the stack did not fit the ${this.unwindPages()}-page unwind buffer: ${(error as Error).message}`);
          }
          throw error;
        }
        if (!this.info.polls || call(AsyncifyExport.GET_STATE) !== AsyncifyState.UNWINDING) return { exitCode: 0 };
        call(AsyncifyExport.STOP_UNWIND);
        this.suspend();
      }
    } catch (error) {
      if (error instanceof ProcExit) return { exitCode: error.code };
      throw error;
    }
  }

  /** Asks for a checkpoint at the next poll, from this thread (any thread may use tracker-words.ts `requestCheckpoint`). */
  requestCheckpoint(): void {
    if (this.request) this.request.value = (this.request.value as number) + 1;
    else if (this.trackerWords) Atomics.add(this.trackerWords, TRACKER_REQUEST_WORD, 1);
  }

  private async instantiate(): Promise<void> {
    const tracker = this.options.tracker;
    const ckpt: Record<string, WebAssembly.ImportValue> = { [CkptImport.SAFEPOINT]: () => this.safepoint() };
    if (tracker) {
      ckpt[CkptImport.TRACKER] = tracker.memory;
      ckpt[CkptImport.MARK_WRITE] = (address: number, length: number) => tracker.markWrite(address >>> 0, length >>> 0);
      ckpt[CkptImport.PAGE_SHIFT] = trackerGeometry(tracker.memory.buffer as unknown as SharedArrayBuffer).pageShift;
    }
    const imports: WebAssembly.Imports = {
      env: { memory: this.options.memory },
      wasi_snapshot_preview1: this.wasi.imports,
      grid: this.gridImports(),
      [CKPT_MODULE]: ckpt,
    };
    checkImports(this.options.module, imports);
    this.instance = await WebAssembly.instantiate(this.options.module, imports);
    this.served = this.info.polls ? this.global(CkptExport.SERVED) : undefined;
    this.request = this.info.request === 'global' ? this.global(CkptExport.REQUEST) : undefined;
    this.syncEpoch();
  }

  /**
   * The runtime's `grid` imports, given the memory and `suspendHere`; each
   * blocking one first ends a rewind that re-entered it (the call that
   * suspended is simply made again).
   */
  private gridImports(): Record<string, WebAssembly.ImportValue> {
    const grid = this.options.grid?.({ memory: this.guest, suspendHere: () => this.unwindIfRequested() }) ?? {};
    const wrapped: Record<string, WebAssembly.ImportValue> = { ...grid };
    for (const name of BLOCKING_GRID_FUNCTIONS) {
      const blocking = grid[name];
      if (typeof blocking !== 'function') continue;
      wrapped[name] = (...args: number[]) => {
        if (this.rewind) this.endRewind();
        return (blocking as (...a: number[]) => number)(...args);
      };
    }
    return wrapped;
  }

  private global(name: string): WebAssembly.Global {
    const found = this.instance.exports[name];
    if (!(found instanceof WebAssembly.Global)) throw new TaskError('InvalidProgram', `the instrumented module exports no global ${name}`);
    return found;
  }

  private syncEpoch(): void {
    if (this.info.barrier && this.trackerWords) this.global(CkptExport.EPOCH).value = Atomics.load(this.trackerWords, TrackerWord.EPOCH);
  }

  private requested(): number {
    if (this.request) return this.request.value as number;
    return this.trackerWords ? Atomics.load(this.trackerWords, TRACKER_REQUEST_WORD) : 0;
  }

  private canSuspend(): boolean {
    if (this.options.canSuspend) return this.options.canSuspend();
    return this.trackerWords ? Atomics.load(this.trackerWords, TrackerWord.PROTECTED) === 0 : true;
  }

  private unwindPages(): number {
    return this.options.unwindPages ?? DEFAULT_UNWIND_PAGES;
  }

  /** `ckpt.safepoint`: the end of a rewind, or the start of an unwind. */
  private safepoint(): void {
    liveness.beat();
    if (this.rewind) this.endRewind();
    else this.unwindIfRequested();
  }

  private endRewind(): void {
    (this.instance.exports[AsyncifyExport.STOP_REWIND] as () => void)();
    clearRegion(this.options.memory, this.rewind!.address, this.rewind!.end);
    this.rewind = null;
    this.rewinds++;
  }

  /** If a checkpoint is requested and may begin, starts the unwind (the caller returns at once); says whether it did. */
  private unwindIfRequested(): boolean {
    const call = (name: string, ...args: number[]) => (this.instance.exports[name] as (...a: number[]) => number)(...args);
    const served = this.served;
    if (!served) return false; // a module without polls cannot suspend
    const requested = this.requested();
    if (requested === served.value) return false;
    // Only the page's watchdog probing (liveness.ts): answered by reaching here; no checkpoint.
    if (realRequests(requested - (served.value as number)) === 0) {
      served.value = requested;
      return false;
    }
    if (!this.canSuspend()) return false;
    served.value = requested;
    const reservedGlobal = this.global(CkptExport.RESERVED_PAGES);
    const { address, reserved } = reserveRegion(this.options.memory, reservedGlobal.value as number, this.unwindPages());
    reservedGlobal.value = reserved;
    prepareUnwind(this.options.memory, address, reserved);
    this.unwinding = { address };
    call(AsyncifyExport.START_UNWIND, address);
    return true;
  }

  /** Between the unwind and the rewind: capture, report, switch the interval. */
  private suspend(): void {
    const { address } = this.unwinding!;
    this.unwinding = null;
    const memory = this.options.memory;
    const end = unwindEnd(memory, address);
    this.options.tracker?.markWrite(address, end - address);
    const globals: CheckpointableState['globals'] = {};
    for (const [name, type] of this.info.globals) globals[name] = saveGlobal(this.global(name), type);
    const state: CheckpointableState = {
      abi: CHECKPOINTABLE_ABI,
      globals,
      memoryPages: memory.buffer.byteLength / WASM_PAGE,
      reservedPages: this.global(CkptExport.RESERVED_PAGES).value as number,
      unwind: { address, end },
      ...this.wasi.save(),
    };
    this.suspensions++;
    this.options.onSuspend(state);
    this.syncEpoch();
    this.rewind = { address, end };
  }
}
