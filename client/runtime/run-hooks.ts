/** What a runner reports while a program runs; the compute worker batches it for the page. */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import type { OutputStream } from '../../shared/states.ts';
import type { TrackerAccess } from './checkpointable/checkpointable-options.ts';
import type { RankPort } from './rank-port.ts';

export interface RunHooks {
  /** Bytes the program wrote, in order; each call gets a fresh (non-shared) copy. */
  output(stream: OutputStream, bytes: Uint8Array): void;
  /** Progress in [0, 1], as often as the program reports it. */
  progress(fraction: number): void;
  /**
   * The program is at a safepoint: a checkpoint may be taken here, with the
   * runner's own state as `capture()` returns it (called only then). Absent
   * when the task is not checkpointed.
   */
  safepoint?(capture: () => JsonValue): void;
  /** The program declared a range of memory it wrote (the cooperative fast path of page-diff.ts). */
  wrote?(byteOffset: number, length: number): void;
  /** For a program that decides itself where to suspend (instrumented wasm); absent when the task is not checkpointed. */
  suspendable?: SuspendHooks;
  /** Messaging, for a rank of a coupled job. */
  port?: RankPort;
}

/**
 * What an instrumented program needs to be checkpointed: its inline barrier
 * marks pages in the task's tracker, its polls read the tracker's request
 * word, and at a poll that found a request it asks `canSuspend()`, unwinds
 * its stack, and calls `suspend` with everything else a restore needs.
 */
export interface SuspendHooks {
  tracker: TrackerAccess;
  /** May a checkpoint begin now (none in flight)? */
  canSuspend(): boolean;
  /** Begins the checkpoint: the memory is what it will hold; `capture()` is the runner's state. */
  suspend(capture: () => JsonValue): void;
}
