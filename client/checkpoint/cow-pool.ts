/**
 * The copy-on-write pool (DESIGN.md §4): a single-producer, single-consumer
 * ring of page-sized slots in a SharedArrayBuffer. The writer (compute worker)
 * copies a protected page into the slot at HEAD before overwriting it and then
 * publishes it by bumping HEAD; the scanner (checkpoint worker) drains the
 * slot at TAIL and bumps TAIL. Each index has one owner, so no
 * compare-exchange is needed; the Atomics stores/loads of HEAD and TAIL order
 * the slot bytes (written before the bump, read after seeing it).
 *
 * A full pool blocks the writer with `Atomics.wait` on TAIL (allowed: it runs
 * in a worker) until the scanner drains a slot. The scanner never blocks.
 */
import { POOL_HEADER_WORDS, PoolWord, poolDataOffset } from '../../shared/tracker-layout.ts';
import { TrackerError } from './tracker-error.ts';

/** How long the writer waits for a free slot before concluding that the checkpoint worker is gone. */
export const POOL_WAIT_TIMEOUT_MS = 30_000;

class PoolView {
  protected readonly control: Int32Array;
  protected readonly data: Uint8Array;
  readonly slots: number;
  readonly pageSize: number;

  constructor(pool: SharedArrayBuffer) {
    const header = new Int32Array(pool, 0, POOL_HEADER_WORDS);
    this.slots = header[PoolWord.SLOTS]!;
    this.pageSize = header[PoolWord.PAGE_SIZE]!;
    this.control = new Int32Array(pool, 0, POOL_HEADER_WORDS + this.slots);
    this.data = new Uint8Array(pool, poolDataOffset(this.slots), this.slots * this.pageSize);
  }

  protected slotBytes(index: number): Uint8Array {
    const offset = (index % this.slots) * this.pageSize;
    return this.data.subarray(offset, offset + this.pageSize);
  }
}

/** The compute worker's end: copies pages in and publishes them. */
export class CowPoolWriter extends PoolView {
  /** Writer-owned copy of HEAD. */
  private head: number;

  constructor(
    pool: SharedArrayBuffer,
    /** Called each time the writer is about to block on a full pool (counting). */
    private readonly onFull: () => void = () => {},
    private readonly waitTimeoutMs = POOL_WAIT_TIMEOUT_MS,
  ) {
    super(pool);
    this.head = Atomics.load(this.control, PoolWord.HEAD);
  }

  /** Returns once a slot is free, blocking while the pool is full. */
  reserve(): void {
    for (;;) {
      const tail = Atomics.load(this.control, PoolWord.TAIL);
      if (this.head - tail < this.slots) return;
      this.onFull();
      if (Atomics.wait(this.control, PoolWord.TAIL, tail, this.waitTimeoutMs) === 'timed-out') {
        throw new TrackerError(`copy-on-write pool full for ${this.waitTimeoutMs} ms: is the checkpoint worker running?`);
      }
    }
  }

  /** Copies `page`'s bytes into the reserved slot and publishes it. Call `reserve()` first. */
  /** Forgets every published copy nobody will drain (their checkpoint's worker is dead). Only while no scanner reads the pool. */
  discardUndrained(): void {
    Atomics.store(this.control, PoolWord.TAIL, this.head);
  }

  publish(page: number, bytes: Uint8Array): void {
    const slot = this.head % this.slots;
    this.slotBytes(this.head).set(bytes);
    this.control[POOL_HEADER_WORDS + slot] = page;
    this.head++;
    // The release: the scanner reads the slot only after it sees this HEAD.
    Atomics.store(this.control, PoolWord.HEAD, this.head);
  }
}

/** The checkpoint worker's end: drains published slots without ever blocking. */
export class CowPoolReader extends PoolView {
  /**
   * Hands the oldest published slot to `take` (the bytes are valid only
   * during the call), frees it, and wakes a writer waiting for a slot.
   * Returns false when nothing is published.
   */
  drainOne(take: (page: number, bytes: Uint8Array) => void): boolean {
    const tail = Atomics.load(this.control, PoolWord.TAIL);
    if (Atomics.load(this.control, PoolWord.HEAD) === tail) return false;
    const page = this.control[POOL_HEADER_WORDS + (tail % this.slots)]!;
    take(page, this.slotBytes(tail));
    Atomics.store(this.control, PoolWord.TAIL, tail + 1);
    // Notifying from the scanner is cheap; it is the compute thread that must never notify a waitAsync waiter (LIMITS.md probe).
    Atomics.notify(this.control, PoolWord.TAIL);
    return true;
  }

  /** True when every published slot has been drained. */
  isEmpty(): boolean {
    return Atomics.load(this.control, PoolWord.HEAD) === Atomics.load(this.control, PoolWord.TAIL);
  }
}
