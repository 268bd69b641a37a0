/**
 * Dirty-page detection for JS step programs (DESIGN.md §3–4): they store into
 * typed arrays directly and cannot call the write barrier, so at a checkpoint's
 * suspension we find the pages whose content differs from the last look.
 *
 * Why a full shadow copy and not per-page hashes (measured by the last test
 * of test/unit/page-diff.test.ts, Node 20 on the shared 2-core machine, 4 KiB
 * pages, ~10 % of pages changed, median of 5 after warm-up): as shipped, both
 * cost about the same, 260–320 ms per GiB (compare-and-copy here against a
 * two-lane 64-bit multiply-rotate fingerprint); in a micro-benchmark whose
 * views are module constants (V8 then drops the bounds checks) compare ran at
 * 110–170 ms/GiB against 240–270 for the hash, since comparing is one xor per
 * word and stops at the first difference, where a hash mixes every word. With
 * speed a tie or better, the shadow wins on two counts that hashes cannot
 * match: the answer is exact (no collision argument; a cheap multiply-xor
 * lane also cancels paired top-bit flips, e.g. two float sign changes), and
 * the shadow IS the memory at the suspension, so the checkpoint worker can
 * save from it while the unbarriered program runs on (see `snapshot`). Its
 * price is a second copy of the memory (1 GiB per GiB, against 8 bytes per
 * page = 2 MiB per GiB for fingerprints).
 *
 * Semantics: a page is dirty when its content differs from what it held at the
 * last look; a write that restores the previous content is not dirty, and
 * that is correct for a checkpoint (the previous checkpoint already holds it).
 */
import type { MemorySource, PageTracker } from './tracker.ts';

const WASM_PAGE = 65536;

export interface PageDiffOptions {
  /** Tracking granularity, a power of two from 4 KiB to 64 KiB; the tracker's page size. @default 4096 */
  pageSize?: number;
  /** The largest size the memory may grow to, in bytes (sizes the shadow's reservation). */
  maxBytes: number;
  /**
   * The shadow to keep, when another thread must read it (the checkpoint
   * worker saves from it): a shared, zero-filled memory whose maximum covers
   * `maxBytes`. @default a new one
   */
  shadow?: WebAssembly.Memory;
}

/** A shadow for a PageDiff over at most `maxBytes`: shared, so it can be handed to the checkpoint worker. */
export function createShadowMemory(maxBytes: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 0, maximum: Math.ceil(maxBytes / WASM_PAGE), shared: true });
}

export class PageDiff {
  readonly pageSize: number;
  /** Shadow of the memory as it was at the last look; grows with the memory. */
  private readonly shadow: WebAssembly.Memory;
  /** Pages covered by the last look; pages past it compare against zero. */
  private lookedPages = 0;
  /** Pages the program declared written since the last look (one byte each), or null: not cooperating. */
  private declared: Uint8Array | null = null;
  private readonly maxPages: number;

  constructor(
    private readonly memory: MemorySource,
    options: PageDiffOptions,
  ) {
    const pageSize = options.pageSize ?? 4096;
    if (!Number.isInteger(Math.log2(pageSize)) || pageSize < 4096 || pageSize > WASM_PAGE) {
      throw new RangeError(`pageSize must be a power of two from 4096 to 65536, got ${pageSize}`);
    }
    if (!Number.isInteger(options.maxBytes) || options.maxBytes <= 0 || options.maxBytes % pageSize !== 0) {
      throw new RangeError(`maxBytes must be a positive multiple of pageSize (${pageSize}), got ${options.maxBytes}`);
    }
    this.pageSize = pageSize;
    this.maxPages = options.maxBytes / pageSize;
    // A shared wasm memory reserves address space for the maximum but commits only what grow() asks for.
    this.shadow = options.shadow ?? createShadowMemory(options.maxBytes);
  }

  /**
   * The memory exactly as it was at the last look (its first
   * `pages × pageSize` bytes; anything past them is zero). Hand it to the
   * checkpoint worker as the memory its PageScan reads: the program may then
   * run on while the checkpoint is saved, since only the next look changes it.
   */
  get snapshot(): MemorySource {
    return this.shadow;
  }

  /** Pages covered by the last look. */
  get pages(): number {
    return this.lookedPages;
  }

  /**
   * Cooperative fast path: the program says it wrote `[byteOffset, byteOffset + length)`.
   * Once a program declares anything in an interval, the next look trusts the
   * declarations for the whole interval: it compares only the declared pages
   * (and pages added by growth), not the whole memory.
   */
  declareWritten(byteOffset: number, length: number): void {
    if (length <= 0) return;
    if (byteOffset < 0 || byteOffset + length > this.maxPages * this.pageSize) {
      throw new RangeError(`declared write ${byteOffset}+${length} is outside the memory's maximum (${this.maxPages} pages)`);
    }
    this.declared ??= new Uint8Array(this.maxPages);
    const shift = Math.log2(this.pageSize);
    this.declared.fill(1, byteOffset >>> shift, ((byteOffset + length - 1) >>> shift) + 1);
  }

  /**
   * Looks at the memory: returns the pages whose content changed since the last
   * look, in increasing order, and remembers the current content. Call only
   * while the program is stopped and no checkpoint worker is reading `snapshot`.
   */
  diff(): number[] {
    const bytes = this.memory.buffer.byteLength;
    if (bytes % this.pageSize !== 0) throw new RangeError(`memory size ${bytes} is not a multiple of the page size ${this.pageSize}`);
    const pages = bytes / this.pageSize;
    if (pages < this.lookedPages) throw new RangeError(`memory shrank from ${this.lookedPages} to ${pages} pages`);
    if (pages > this.maxPages) throw new RangeError(`memory of ${pages} pages exceeds maxBytes (${this.maxPages} pages)`);
    const missing = Math.ceil(bytes / WASM_PAGE) - this.shadow.buffer.byteLength / WASM_PAGE;
    if (missing > 0) this.shadow.grow(missing); // new shadow bytes are zero: new pages compare against zero
    const live = new Int32Array(this.memory.buffer, 0, bytes >> 2);
    const shadow = new Int32Array(this.shadow.buffer, 0, bytes >> 2);
    const changed: number[] = [];
    const declared = this.declared;
    const words = this.pageSize >> 2;
    for (let page = 0; page < pages; page++) {
      if (declared !== null && page < this.lookedPages && declared[page] === 0) continue;
      if (syncPage(live, shadow, page * words, words)) changed.push(page);
    }
    declared?.fill(0);
    this.declared = null;
    this.lookedPages = pages;
    return changed;
  }

  /**
   * Looks (see `diff`) and marks every changed page in the current interval of
   * `tracker`, runs of pages in one call. The barrier's contract is "mark
   * before storing", and these stores are done: call it only when no
   * checkpoint is in flight (the tracker's PROTECTED word is 0), right before
   * `tracker.beginCheckpoint()`. Returns the changed pages.
   */
  markDirty(tracker: PageTracker): number[] {
    const changed = this.diff();
    const size = this.pageSize;
    for (let i = 0; i < changed.length; ) {
      const first = changed[i]!;
      let end = i + 1;
      while (end < changed.length && changed[end] === first + (end - i)) end++;
      tracker.markWrite(first * size, (end - i) * size);
      i = end;
    }
    return changed;
  }
}

/**
 * Compares one page of `live` with `shadow` and copies it over when they
 * differ. Int32 words, not Float64 (NaN ≠ NaN and -0 === 0 would lie); four
 * words per test keeps V8's loop tight (~2× faster than one per test here).
 */
function syncPage(live: Int32Array, shadow: Int32Array, start: number, words: number): boolean {
  const end = start + words;
  let i = start;
  for (; i < end; i += 4) {
    if (((live[i]! ^ shadow[i]!) | (live[i + 1]! ^ shadow[i + 1]!) | (live[i + 2]! ^ shadow[i + 2]!) | (live[i + 3]! ^ shadow[i + 3]!)) !== 0) break;
  }
  if (i >= end) return false;
  shadow.set(live.subarray(start, end), start);
  return true;
}
