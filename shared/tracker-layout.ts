/**
 * Word layout of the page-dirty tracker and of its copy-on-write pool
 * (DESIGN.md §4, "epoch words"). Both live in SharedArrayBuffers shared by
 * the compute worker (the writer) and the checkpoint worker (the scanner), so
 * the layout is the protocol between them and is declared once, here.
 *
 * Tracker words: `TRACKER_HEADER_WORDS` control words, then one word per page,
 * sized for the memory's MAXIMUM size. A page word is:
 * - `0`: never written since the tracker was created;
 * - `n > 0`: last written in interval `n`;
 * - `SAVING`: the scanner holds the page (copying it out); a writer waits;
 * - `SAVED`: saved by the checkpoint in flight, not written since;
 * - `COPYING`: the writer is copying the page into the pool before writing it.
 * Intervals start at 1 and only grow, so the negative markers are never an
 * interval (at one checkpoint a second, 2^31 intervals last 68 years).
 */

/** Control words of the tracker (indices into its Int32Array). */
export const TrackerWord = {
  /** Current interval E; only the writer changes it, at a safepoint. */
  EPOCH: 0,
  /** Interval k being saved, or 0 when no checkpoint is in flight. */
  PROTECTED: 1,
  /** Page index + 1 the writer is blocked on (waiting for SAVED), or 0. */
  WAITER: 2,
  /** COW claims of the checkpoint in flight (bumped before the claim, so the scanner knows what to wait for). */
  CLAIMS: 3,
  /** Counters, cumulative since creation. */
  COW_COPIES: 4,
  POOL_FULL_WAITS: 5,
  SAVED_PAGES: 6,
  SAVING_WAITS: 7,
  /** Geometry, written once at creation. */
  PAGE_SIZE: 8,
  MAX_PAGES: 9,
  /**
   * Checkpoint requests made so far, for instrumented wasm (issue 4): its
   * inline polls read this word of the tracker memory, and any thread bumps it.
   */
  REQUESTS: 15,
} as const;

export const TRACKER_HEADER_WORDS = 16;

export const PageState = {
  NEVER_WRITTEN: 0,
  SAVING: -1,
  SAVED: -2,
  COPYING: -3,
} as const;

export const MIN_PAGE_SIZE = 4096;
export const MAX_PAGE_SIZE = 65536;

/** Control words of the copy-on-write pool; slot page indices follow them. */
export const PoolWord = {
  /** Slots published by the writer (only the writer moves it). */
  HEAD: 0,
  /** Slots drained by the scanner (only the scanner moves it); the writer waits on it when the pool is full. */
  TAIL: 1,
  SLOTS: 2,
  PAGE_SIZE: 3,
} as const;

export const POOL_HEADER_WORDS = 4;

/** Everything a worker needs to attach to a task's tracker; structured-cloneable. */
export interface TrackerBuffers {
  tracker: SharedArrayBuffer;
  pool: SharedArrayBuffer;
}

/** Throws a RangeError unless `pageSize` is a power of two in [4 KiB, 64 KiB]. */
export function checkPageSize(pageSize: number): void {
  const powerOfTwo = Number.isInteger(pageSize) && pageSize > 0 && (pageSize & (pageSize - 1)) === 0;
  if (!powerOfTwo || pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE) {
    throw new RangeError(`pageSize must be a power of two from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE}, got ${pageSize}`);
  }
}

/** Byte offset of the pool's slot data: after the header and slot table, 16-byte aligned. */
export function poolDataOffset(slots: number): number {
  return Math.ceil(((POOL_HEADER_WORDS + slots) * 4) / 16) * 16;
}
