/**
 * Clocks for clock_time_get and poll_oneoff. They work but are not replayed: a
 * program that reads them is not deterministic across a restore (API.md).
 */
import { liveness } from '../liveness.ts';
import { CLOCK } from './constants.ts';

/** Longest single wait of a sleep, so the watchdog sees beats while a program sleeps. */
const SLEEP_SLICE_MS = 1_000;

/** The resolution we claim; browsers coarsen performance.now() to a few microseconds. */
export const CLOCK_RESOLUTION_NS = 1_000n;

export function isClock(id: number): boolean {
  return id === CLOCK.REALTIME || id === CLOCK.MONOTONIC || id === CLOCK.PROCESS_CPUTIME || id === CLOCK.THREAD_CPUTIME;
}

/** Nanoseconds on clock `id` (realtime: since the epoch, at microsecond precision; others: since the page started). */
export function clockNow(id: number): bigint {
  if (id === CLOCK.REALTIME) return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1_000)) * 1_000n;
  return BigInt(Math.round(performance.now() * 1_000_000));
}

/**
 * Blocks the calling thread for `ms`. Atomics.wait is allowed in workers (and in
 * Node); where it is not (a window's main thread) we spin instead.
 */
export function sleepSync(ms: number): void {
  if (!(ms > 0)) return;
  try {
    // In slices, beating between them: a program asleep is alive (liveness.ts).
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const until = performance.now() + ms;
    for (let left = ms; left > 0; left = until - performance.now()) {
      liveness.beat();
      Atomics.wait(cell, 0, 0, Math.min(left, SLEEP_SLICE_MS));
    }
  } catch {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // spin: no other way to block here
    }
  }
}
