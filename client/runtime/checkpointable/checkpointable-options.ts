/** What a runtime hands the driver (checkpointable-program.ts) to run one instrumented program. */
import type { CheckpointableState } from '../../../shared/checkpointable-abi.ts';
import type { GridAccess } from '../grid-imports.ts';

export interface TrackerAccess {
  /** The shared memory the module imports as `ckpt.tracker` (its buffer is the PageTracker's `buffers.tracker`). */
  memory: WebAssembly.Memory;
  /** The barrier's slow path: PageTracker#markWrite. Also marks what imports and the driver write. */
  markWrite(address: number, length: number): void;
}

export interface CheckpointableOptions {
  /** The instrumented module (server/programs/instrument). */
  module: WebAssembly.Module;
  /** The shared process memory, imported as `env.memory`; for a resume, already holding the checkpoint's bytes and size. */
  memory: WebAssembly.Memory;
  /** Program name, then arguments. */
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  /** stdout (1) and stderr (2) bytes; each call gets a fresh copy. */
  write(fd: 1 | 2, bytes: Uint8Array): void;
  /** Makes the `grid` import module, given the program's memory and where a blocking import may suspend. @default none */
  grid?: (access: GridAccess) => Record<string, WebAssembly.ImportValue>;
  /** Required when the module has the barrier or reads requests from the tracker. */
  tracker?: TrackerAccess;
  /**
   * Called at a poll that found a request pending: may a checkpoint begin now?
   * Must be false while a checkpoint is in flight: the unwind writes its data
   * before the driver marks those pages, which is safe only while no page is
   * protected. Returning false leaves the request pending, so every poll calls
   * the safepoint again until it is true.
   * @default with a tracker: no checkpoint is in flight (PROTECTED is 0); without: true
   */
  canSuspend?(): boolean;
  /**
   * The stack is unwound into memory and `state` is everything else a restore
   * needs; the memory will not change until this returns. Synchronous: this
   * is where the runtime calls PageTracker#beginCheckpoint (the driver then
   * reads the new interval from the tracker).
   */
  onSuspend(state: CheckpointableState): void;
  /** 64 KiB pages reserved at the top of memory for the unwind data at the first checkpoint. @default DEFAULT_UNWIND_PAGES */
  unwindPages?: number;
}
