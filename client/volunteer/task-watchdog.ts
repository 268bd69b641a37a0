/**
 * The page's watchdog over one compute worker (issue 7, Sandbox): a JS step
 * that never returns, or wasm that neither returns, calls the runtime nor
 * answers a probe, would hold the task (and a core) forever. The worker
 * shows it is alive through a shared liveness buffer (client/runtime/liveness.ts);
 * this reads it every `checkEveryMs`, with no message per step. Silent for
 * `periodMs`, the worker is declared unresponsive: the task host terminates
 * it and fails the task as Unresponsive, and the tab takes other work.
 *
 * What counts as alive depends on the mode the worker announces:
 * - STEPS (JS): a step returned.
 * - PROBED (instrumented wasm): it called the runtime, or answered a probe.
 *   After half the period of silence the watchdog probes once
 *   (PROBE_REQUEST on the tracker's request word): a program in a loop
 *   reaches a poll within microseconds and answers. A checkpoint in flight
 *   (the tracker's PROTECTED word) also counts: its write barrier may wait
 *   for the checkpoint worker.
 * - LOADING, UNWATCHED: never declared unresponsive.
 * A rank blocked in recv or at a barrier loops in the runtime and beats.
 */
import { STEP_WATCHDOG_MS } from '../../shared/limits.ts';
import { TrackerWord } from '../../shared/tracker-layout.ts';
import { LivenessWord, PROBE_REQUEST, WatchMode } from '../runtime/liveness.ts';

export interface TaskWatchdogOptions {
  /** Silence after which the worker is unresponsive. @default STEP_WATCHDOG_MS */
  periodMs?: number;
  /** How often the buffer is read. @default periodMs / 10 */
  checkEveryMs?: number;
  /** The task's tracker (instrumented wasm with checkpoints): where probes go and checkpoints in flight show. */
  tracker?: SharedArrayBuffer;
  /** Called once, when the worker has been silent for `periodMs`; the watchdog has stopped. */
  onUnresponsive(failure: { name: 'Unresponsive'; message: string }): void;
}

/** What one check concluded. */
export type WatchdogVerdict = 'alive' | 'probe' | 'unresponsive';

/** The message a task stopped by the watchdog fails with. */
export function unresponsiveMessage(mode: number, periodMs: number): string {
  const seconds = `${Math.round(periodMs / 100) / 10} s`;
  if (mode === WatchMode.STEPS) return `a step did not return within ${seconds}; the task was stopped`;
  return `the program neither returned nor reached a safepoint within ${seconds}; the task was stopped`;
}

export class TaskWatchdog {
  readonly #words: Int32Array;
  readonly #tracker: Int32Array | undefined;
  readonly #periodMs: number;
  #beats: number;
  #aliveAt: number;
  #probed = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    liveness: SharedArrayBuffer,
    private readonly options: TaskWatchdogOptions,
    now: number = performance.now(),
  ) {
    this.#words = new Int32Array(liveness);
    this.#tracker = options.tracker && new Int32Array(options.tracker);
    this.#periodMs = options.periodMs ?? STEP_WATCHDOG_MS;
    this.#beats = Atomics.load(this.#words, LivenessWord.BEATS);
    this.#aliveAt = now;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const every = this.options.checkEveryMs ?? this.#periodMs / 10;
    this.#timer = setInterval(() => {
      if (this.check(performance.now()) !== 'unresponsive') return;
      this.stop();
      const mode = Atomics.load(this.#words, LivenessWord.MODE);
      this.options.onUnresponsive({ name: 'Unresponsive', message: unresponsiveMessage(mode, this.#periodMs) });
    }, every);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look at the worker at time `now` (ms); probes when that is the verdict. */
  check(now: number): WatchdogVerdict {
    const beats = Atomics.load(this.#words, LivenessWord.BEATS);
    const mode = Atomics.load(this.#words, LivenessWord.MODE);
    const watched = mode === WatchMode.STEPS || (mode === WatchMode.PROBED && this.#tracker !== undefined);
    const checkpointing = mode === WatchMode.PROBED && this.#tracker !== undefined && Atomics.load(this.#tracker, TrackerWord.PROTECTED) !== 0;
    if (beats !== this.#beats || !watched || checkpointing) {
      this.#beats = beats;
      this.#aliveAt = now;
      this.#probed = false;
      return 'alive';
    }
    const silentMs = now - this.#aliveAt;
    if (silentMs >= this.#periodMs) return 'unresponsive';
    if (mode === WatchMode.PROBED && !this.#probed && silentMs >= this.#periodMs / 2) {
      this.#probed = true;
      Atomics.add(this.#tracker!, TrackerWord.REQUESTS, PROBE_REQUEST);
      return 'probe';
    }
    return 'alive';
  }
}
