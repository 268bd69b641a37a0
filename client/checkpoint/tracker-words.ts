/**
 * Creation of a task's tracker and copy-on-write pool, and the geometry both
 * sides read from them (layout in shared/tracker-layout.ts).
 */
import {
  POOL_HEADER_WORDS,
  PoolWord,
  TRACKER_HEADER_WORDS,
  TrackerWord,
  checkPageSize,
  poolDataOffset,
} from '../../shared/tracker-layout.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';

export interface TrackerOptions {
  /** Largest size the process memory may grow to, in bytes (a multiple of pageSize). */
  maxBytes: number;
  /** Tracking granularity, a power of two from 4 KiB to 64 KiB. @default 4096 */
  pageSize?: number;
  /** Copy-on-write slots (each one page). @default 64 */
  poolSlots?: number;
  /**
   * The first interval: a task resumed from checkpoint k starts at k + 1, so
   * its next checkpoint continues the chain. @default 1
   */
  firstInterval?: number;
}

export const DEFAULT_POOL_SLOTS = 64;

/** Allocates the tracker (interval `firstInterval`, nothing protected) and an empty pool. */
export function createTrackerBuffers(options: TrackerOptions): TrackerBuffers {
  const pageSize = options.pageSize ?? 4096;
  checkPageSize(pageSize);
  if (!Number.isInteger(options.maxBytes) || options.maxBytes <= 0 || options.maxBytes % pageSize !== 0) {
    throw new RangeError(`maxBytes must be a positive multiple of pageSize (${pageSize}), got ${options.maxBytes}`);
  }
  const slots = options.poolSlots ?? DEFAULT_POOL_SLOTS;
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`poolSlots must be ≥ 1, got ${slots}`);
  const maxPages = options.maxBytes / pageSize;
  const firstInterval = options.firstInterval ?? 1;
  if (!Number.isInteger(firstInterval) || firstInterval < 1 || firstInterval >= 0x7fffffff) {
    throw new RangeError(`firstInterval must be an integer from 1 to 2^31 - 2, got ${firstInterval}`);
  }

  const tracker = new SharedArrayBuffer((TRACKER_HEADER_WORDS + maxPages) * 4);
  const words = new Int32Array(tracker);
  words[TrackerWord.EPOCH] = firstInterval;
  words[TrackerWord.PAGE_SIZE] = pageSize;
  words[TrackerWord.MAX_PAGES] = maxPages;

  const pool = new SharedArrayBuffer(poolDataOffset(slots) + slots * pageSize);
  const control = new Int32Array(pool, 0, POOL_HEADER_WORDS + slots);
  control[PoolWord.SLOTS] = slots;
  control[PoolWord.PAGE_SIZE] = pageSize;
  return { tracker, pool };
}

/** What either side reads about a tracker: its words and its page geometry. */
export interface TrackerGeometry {
  words: Int32Array;
  pageSize: number;
  pageShift: number;
  maxPages: number;
}

export function trackerGeometry(tracker: SharedArrayBuffer): TrackerGeometry {
  const words = new Int32Array(tracker);
  const pageSize = words[TrackerWord.PAGE_SIZE]!;
  checkPageSize(pageSize);
  return { words, pageSize, pageShift: Math.log2(pageSize), maxPages: words[TrackerWord.MAX_PAGES]! };
}

/**
 * Asks for a checkpoint at the compute side's next safepoint. Any thread;
 * requests coalesce: the compute side serves all those made so far at once.
 * The count lives in the tracker (TrackerWord.REQUESTS) so that an
 * instrumented program's inline polls read it with one atomic load.
 */
export function requestCheckpoint(tracker: SharedArrayBuffer): void {
  Atomics.add(new Int32Array(tracker), TrackerWord.REQUESTS, 1);
}

/** Checkpoint requests made so far (see `requestCheckpoint`). */
export function requestsMade(words: Int32Array): number {
  return Atomics.load(words, TrackerWord.REQUESTS);
}

/** Counters of a tracker, cumulative since creation; safe to read from any thread. */
export interface TrackerStats {
  epoch: number;
  protected: number;
  cowCopies: number;
  poolFullWaits: number;
  savedPages: number;
  savingWaits: number;
}

export function readTrackerStats(tracker: SharedArrayBuffer): TrackerStats {
  const words = new Int32Array(tracker);
  const load = (word: number) => Atomics.load(words, word);
  return {
    epoch: load(TrackerWord.EPOCH),
    protected: load(TrackerWord.PROTECTED),
    cowCopies: load(TrackerWord.COW_COPIES),
    poolFullWaits: load(TrackerWord.POOL_FULL_WAITS),
    savedPages: load(TrackerWord.SAVED_PAGES),
    savingWaits: load(TrackerWord.SAVING_WAITS),
  };
}
