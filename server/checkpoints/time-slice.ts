/**
 * Lets long background work (compaction) give the event loop a turn once it
 * has run for `budgetMs`, so socket.io heartbeats, uploads and timers are
 * never held up for long. `setImmediate`, not a timer: it resumes right after
 * pending I/O, without setTimeout's minimum delay.
 */
import { setImmediate } from 'node:timers/promises';

/** Work per turn of the event loop: well under the ~50 ms a coordinator may stall without clients noticing. */
export const SLICE_MS = 10;

/** Returns `pause`: resolves at once while the current slice lasts, else after a turn of the event loop. */
export function timeSlice(budgetMs = SLICE_MS): () => Promise<void> {
  let started = performance.now();
  return async () => {
    if (performance.now() - started < budgetMs) return;
    await setImmediate();
    started = performance.now();
  };
}
