/**
 * Packs one checkpoint's dirty pages, in increasing page order, into segments
 * of about `SEGMENT_TARGET_BYTES` (DESIGN.md §4 "Segments": IndexedDB costs
 * are per record, so 4 KiB records are ~20× slower than 1 MiB ones). A page is
 * never split across segments. Pages that are all zeros are recorded as zero
 * extents and take no bytes. Pure and synchronous: hashing and storing are
 * the store's job.
 */
import { SEGMENT_TARGET_BYTES } from './checkpoint-format.ts';
import type { PageExtent } from './checkpoint-format.ts';

export interface SegmentWriterOptions {
  /** @default SEGMENT_TARGET_BYTES (1 MiB) */
  targetBytes?: number;
}

/** True when every byte of `bytes` is zero (word-wise when aligned). */
export function isZeroPage(bytes: Uint8Array): boolean {
  if (bytes.byteOffset % 4 === 0 && bytes.byteLength % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

export class SegmentWriter {
  readonly #pageSize: number;
  readonly #pagesPerSegment: number;
  readonly #extents: PageExtent[] = [];
  #segmentIndex = 0;
  #current: Uint8Array<ArrayBuffer> | undefined;
  #used = 0;
  #lastPage = -1;
  #pages = 0;

  constructor(pageSize: number, options: SegmentWriterOptions = {}) {
    this.#pageSize = pageSize;
    this.#pagesPerSegment = Math.max(1, Math.floor((options.targetBytes ?? SEGMENT_TARGET_BYTES) / pageSize));
  }

  /** Pages added so far (zero pages included). */
  get pages(): number {
    return this.#pages;
  }

  /**
   * Copies page `page` (exactly `pageSize` bytes; a view of shared memory is
   * fine, it is copied out) into the current segment. Returns the previous
   * segment when this page did not fit in it: it is full and will not change.
   */
  add(page: number, bytes: Uint8Array): ArrayBuffer | undefined {
    if (!Number.isInteger(page) || page <= this.#lastPage) throw new RangeError(`pages must come in increasing order: ${page} after ${this.#lastPage}`);
    if (bytes.byteLength !== this.#pageSize) throw new RangeError(`page ${page} has ${bytes.byteLength} bytes, expected ${this.#pageSize}`);
    const contiguous = page === this.#lastPage + 1;
    this.#lastPage = page;
    this.#pages++;
    if (isZeroPage(bytes)) {
      const last = this.#extents.at(-1);
      if (last && 'zero' in last && contiguous) last.count++;
      else this.#extents.push({ first: page, count: 1, zero: true });
      return undefined;
    }
    let full: ArrayBuffer | undefined;
    if (this.#current && this.#used + this.#pageSize > this.#current.byteLength) {
      full = this.#close();
    }
    if (!this.#current) {
      this.#current = new Uint8Array(this.#pagesPerSegment * this.#pageSize);
      this.#used = 0;
    }
    this.#current.set(bytes, this.#used);
    const last = this.#extents.at(-1);
    if (last && !('zero' in last) && contiguous && last.segment === this.#segmentIndex && last.offset + last.count * this.#pageSize === this.#used) last.count++;
    else this.#extents.push({ first: page, count: 1, segment: this.#segmentIndex, offset: this.#used });
    this.#used += this.#pageSize;
    return full;
  }

  /** Ends the checkpoint: the last, possibly partial, segment (sliced to its length) and every extent. */
  finish(): { last: ArrayBuffer | undefined; extents: PageExtent[]; segments: number } {
    const last = this.#current ? this.#close() : undefined;
    return { last, extents: this.#extents, segments: this.#segmentIndex };
  }

  #close(): ArrayBuffer {
    const current = this.#current!;
    // A view would store its whole underlying buffer (LIMITS.md probe): hand out an exact-length buffer.
    const out = this.#used === current.byteLength ? current.buffer : current.buffer.slice(0, this.#used);
    this.#current = undefined;
    this.#segmentIndex++;
    return out;
  }
}

/** Packs a whole sequence of pages at once: the segments in order and the extents indexing them. */
export function packPages(pageSize: number, pages: Iterable<readonly [number, Uint8Array]>, options?: SegmentWriterOptions): { segments: ArrayBuffer[]; extents: PageExtent[] } {
  const writer = new SegmentWriter(pageSize, options);
  const segments: ArrayBuffer[] = [];
  for (const [page, bytes] of pages) {
    const full = writer.add(page, bytes);
    if (full) segments.push(full);
  }
  const { last, extents } = writer.finish();
  if (last) segments.push(last);
  return { segments, extents };
}
