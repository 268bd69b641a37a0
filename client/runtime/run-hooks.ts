/** What a runner reports while a program runs; the compute worker batches it for the page. */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import type { OutputStream } from '../../shared/states.ts';

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
}
