/**
 * The write barrier and the O(1) write-protect of the compute worker
 * (DESIGN.md §4, "epoch words"). This side is the only writer of EPOCH and the
 * only code that moves a page word to `E`; it may block (it runs in a worker).
 *
 * Why the fast path may use a plain (non-Atomics) load:
 * - `E` is cached in `this.epoch`; only this object changes it, in
 *   `beginCheckpoint()` at a safepoint, so the cache is never stale.
 * - A page word equal to `E` was stored by this thread, and nobody else ever
 *   moves a word away from `E` (the scanner only moves `k → SAVING → SAVED`,
 *   and `k = E - 1 ≠ E`). So reading `E`, even through a plain load, proves
 *   the page is already marked in this interval: no race can invalidate it.
 * - Any other value, stale or not, only sends us to the slow path, which
 *   re-reads the word with `Atomics.load` and uses compare-exchange for the one
 *   transition the scanner races for (`k → COPYING` against `k → SAVING`).
 * - In the JS memory model aligned Int32Array accesses never tear, so a plain
 *   load returns some value that was really stored.
 */
import { PageState, TrackerWord, TRACKER_HEADER_WORDS } from '../../shared/tracker-layout.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';
import { CowPoolWriter, POOL_WAIT_TIMEOUT_MS } from './cow-pool.ts';
import { TrackerError } from './tracker-error.ts';
import { trackerGeometry } from './tracker-words.ts';

/** The process memory: a shared `WebAssembly.Memory`, or any `{ buffer }` whose buffer may be replaced by a longer one on growth. */
export interface MemorySource {
  readonly buffer: ArrayBufferLike;
}

/** How long the writer waits for the scanner to release a page it holds. */
export const SAVING_WAIT_TIMEOUT_MS = POOL_WAIT_TIMEOUT_MS;

export class PageTracker {
  private readonly words: Int32Array;
  private readonly pool: CowPoolWriter;
  readonly pageSize: number;
  readonly maxPages: number;
  private readonly pageShift: number;
  /** The current interval E; see the class comment for why caching it is safe. */
  private epoch: number;

  constructor(
    buffers: TrackerBuffers,
    private readonly memory: MemorySource,
  ) {
    const geometry = trackerGeometry(buffers.tracker);
    this.words = geometry.words;
    this.pageSize = geometry.pageSize;
    this.pageShift = geometry.pageShift;
    this.maxPages = geometry.maxPages;
    this.pool = new CowPoolWriter(buffers.pool, () => Atomics.add(this.words, TrackerWord.POOL_FULL_WAITS, 1));
    this.epoch = Atomics.load(this.words, TrackerWord.EPOCH);
  }

  /** The current interval E. */
  get interval(): number {
    return this.epoch;
  }

  /**
   * The write barrier: call BEFORE storing `length` bytes at `byteOffset`.
   * Marks every page the range touches; a protected page is saved first.
   */
  markWrite(byteOffset: number, length: number): void {
    if (length <= 0) return;
    const first = byteOffset >>> this.pageShift;
    const last = (byteOffset + length - 1) >>> this.pageShift;
    if (byteOffset < 0 || last >= this.maxPages) {
      throw new RangeError(`write ${byteOffset}+${length} is outside the tracked memory (${this.maxPages} pages)`);
    }
    const words = this.words;
    const epoch = this.epoch;
    for (let index = TRACKER_HEADER_WORDS + first; index <= TRACKER_HEADER_WORDS + last; index++) {
      if (words[index] !== epoch) this.slowPath(index);
    }
  }

  /**
   * Ends interval k = E at a safepoint and write-protects its pages in O(1):
   * every word equal to k now takes the slow path. Returns k, or null (and
   * changes nothing) while the previous checkpoint is still being saved: the
   * caller keeps the request and retries at a later safepoint (coalescing).
   */
  beginCheckpoint(): number | null {
    if (Atomics.load(this.words, TrackerWord.PROTECTED) !== 0) return null;
    const k = this.epoch;
    if (k >= 0x7fffffff) throw new TrackerError('interval counter exhausted');
    Atomics.store(this.words, TrackerWord.CLAIMS, 0);
    this.epoch = k + 1;
    Atomics.store(this.words, TrackerWord.EPOCH, k + 1);
    // Publishing k last: a scanner that sees it also sees EPOCH and CLAIMS reset.
    Atomics.store(this.words, TrackerWord.PROTECTED, k);
    return k;
  }

  /**
   * Marks every page written since creation as written in the current
   * interval, so the next checkpoint holds all of them: the way to rebuild
   * after a checkpoint that never committed (its worker died mid-flush).
   * O(pages); call at a safepoint with no checkpoint in flight.
   */
  markAllWritten(): void {
    if (Atomics.load(this.words, TrackerWord.PROTECTED) !== 0) {
      throw new TrackerError('markAllWritten() while a checkpoint is in flight');
    }
    const words = this.words;
    for (let index = TRACKER_HEADER_WORDS; index < words.length; index++) {
      if (words[index] !== PageState.NEVER_WRITTEN) Atomics.store(words, index, this.epoch);
    }
  }

  /**
   * Takes back the protection of a checkpoint whose worker died before
   * releasing it (checkpoint-channel.ts ABANDONED): pages it held (SAVING)
   * become SAVED, copies in the pool are dropped, PROTECTED goes to 0. The
   * caller makes the next checkpoint a rebuild, since k never committed.
   * Call at a safepoint (no copy-on-write under way) with no checkpoint
   * worker attached. O(pages). False when nothing was protected.
   */
  releaseAbandoned(): boolean {
    const words = this.words;
    if (Atomics.load(words, TrackerWord.PROTECTED) === 0) return false;
    this.pool.discardUndrained();
    for (let index = TRACKER_HEADER_WORDS; index < words.length; index++) {
      if (words[index] === PageState.SAVING) Atomics.store(words, index, PageState.SAVED);
    }
    Atomics.store(words, TrackerWord.PROTECTED, 0);
    return true;
  }

  private slowPath(index: number): void {
    const words = this.words;
    for (;;) {
      const word = Atomics.load(words, index);
      if (word === this.epoch) return;
      if (word === PageState.SAVING) {
        this.waitUntilSaved(index);
        continue;
      }
      if (word > 0 && word === Atomics.load(words, TrackerWord.PROTECTED)) {
        if (this.copyOnWrite(index, word)) return;
        continue; // the scanner claimed it first: wait for SAVED
      }
      // 0, SAVED or an older interval: the scanner never touches these words.
      Atomics.store(words, index, this.epoch);
      return;
    }
  }

  /** Saves protected page `index` into the pool before it is written; false if the scanner got it first. */
  private copyOnWrite(index: number, k: number): boolean {
    const words = this.words;
    this.pool.reserve();
    // Count the claim before making it, so a scanner that sees the word leave k also sees the count.
    Atomics.add(words, TrackerWord.CLAIMS, 1);
    if (Atomics.compareExchange(words, index, k, PageState.COPYING) !== k) {
      Atomics.sub(words, TrackerWord.CLAIMS, 1);
      return false;
    }
    const page = index - TRACKER_HEADER_WORDS;
    this.pool.publish(page, new Uint8Array(this.memory.buffer, page * this.pageSize, this.pageSize));
    Atomics.add(words, TrackerWord.COW_COPIES, 1);
    Atomics.store(words, index, this.epoch);
    return true;
  }

  private waitUntilSaved(index: number): void {
    const words = this.words;
    Atomics.add(words, TrackerWord.SAVING_WAITS, 1);
    // Announce the wait; the scanner notifies only when WAITER names the page (see page-scan.ts).
    Atomics.store(words, TrackerWord.WAITER, index - TRACKER_HEADER_WORDS + 1);
    const result = Atomics.wait(words, index, PageState.SAVING, SAVING_WAIT_TIMEOUT_MS);
    Atomics.store(words, TrackerWord.WAITER, 0);
    if (result === 'timed-out') {
      throw new TrackerError(`page ${index - TRACKER_HEADER_WORDS} held by the checkpoint worker for ${SAVING_WAIT_TIMEOUT_MS} ms`);
    }
  }
}
