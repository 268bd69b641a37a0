/**
 * How a compute worker shows the page it is alive, for the page's watchdog
 * (client/volunteer/task-watchdog.ts): a few Int32 words in a
 * SharedArrayBuffer the page creates and passes in the TaskSpec. The worker
 * bumps BEATS where a running program comes back to the runtime (a JS step
 * returns; wasm calls a grid import, reaches `ckpt.safepoint`, or loops in a
 * blocking wait); no message per beat, one atomic add.
 *
 * An instrumented wasm program may compute for minutes without calling the
 * runtime, yet it stays responsive: its polls read the tracker's request
 * word inline. So the page probes a quiet wasm program by adding
 * PROBE_REQUEST to that word: the next poll calls `ckpt.safepoint`, which
 * beats and, seeing no real request among the probes, goes on without a
 * checkpoint (checkpointable-program.ts). Real requests add 1, probes 2^20,
 * so one atomic word carries both without a race.
 *
 * One task per worker, so the worker side is a module-level singleton the
 * runtime's deep call sites (rank-port.ts, wasi/clock.ts) beat through.
 */

/** Word indexes in the liveness buffer. */
export const LivenessWord = {
  /** Bumped by the worker at every sign of life. */
  BEATS: 0,
  /** A WatchMode, set by the worker as the run goes on. */
  MODE: 1,
} as const;

const LIVENESS_WORDS = 2;

/** What the page's watchdog may expect of the run now. */
export const WatchMode = {
  /** Loading or compiling the program (the runtime's own work): not watched. */
  LOADING: 0,
  /** A JS program: beats at every step; silence means a step that does not return. */
  STEPS: 1,
  /** Instrumented wasm with the page's tracker: quiet for half the period, it is probed; no answer means it hangs. */
  PROBED: 2,
  /** Wasm that cannot be probed (not instrumented, or no tracker the page holds): not watched. */
  UNWATCHED: 3,
} as const;
export type WatchMode = (typeof WatchMode)[keyof typeof WatchMode];

/** What a probe adds to the tracker's request word; a real checkpoint request adds 1. */
export const PROBE_REQUEST = 1 << 20;

/** The real checkpoint requests in `delta` requests (the rest are probes); int32 wrap-around is fine. */
export function realRequests(delta: number): number {
  return delta & (PROBE_REQUEST - 1);
}

export function createLivenessBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(LIVENESS_WORDS * Int32Array.BYTES_PER_ELEMENT);
}

/** The worker's side: a no-op until `attach`ed (Node tests, harness pages that pass no buffer). */
class WorkerLiveness {
  #words: Int32Array | undefined;

  attach(buffer: SharedArrayBuffer | undefined): void {
    this.#words = buffer && new Int32Array(buffer);
  }

  beat(): void {
    if (this.#words) Atomics.add(this.#words, LivenessWord.BEATS, 1);
  }

  watch(mode: WatchMode): void {
    if (!this.#words) return;
    Atomics.add(this.#words, LivenessWord.BEATS, 1);
    Atomics.store(this.#words, LivenessWord.MODE, mode);
  }
}

/** This worker's liveness (one task per worker). */
export const liveness = new WorkerLiveness();
