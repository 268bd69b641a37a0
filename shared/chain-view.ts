/**
 * The memory a chain of manifests describes, as a map page → where its newest
 * copy lives (DESIGN.md §4 "Restore"). Pure, so the volunteer (IndexedDB) and
 * the coordinator (blob store) share it: restore reads the bytes it points
 * at, compaction decides from its sizes whether to merge the chain.
 */
import type { CheckpointManifest } from './checkpoint-format.ts';

/** `source[p]` for a page never written in the chain: it is zero. */
export const NEVER_WRITTEN = -1;
/** `source[p]` for a page whose newest record is a zero extent. */
export const ZERO_PAGE = -2;

export interface ChainView {
  /** The newest manifest of the chain (the checkpoint the view is of). */
  head: CheckpointManifest;
  /** Per page: the index in `chain` of the manifest holding its newest copy, or NEVER_WRITTEN / ZERO_PAGE. */
  source: Int32Array;
  /** Per page: the index of its segment in that manifest's `segments`. */
  segment: Int32Array;
  /** Per page: its byte offset in that segment. */
  offset: Float64Array;
  /** Bytes of the pages whose newest copy is stored (not zero): the live memory. */
  liveBytes: number;
  /** Bytes of all segments the chain's manifests hold. */
  storedBytes: number;
}

/** Builds the view of `chain`, ordered base first (a base manifest has parent null). */
export function chainView(chain: readonly CheckpointManifest[]): ChainView {
  const head = chain.at(-1);
  if (!head) throw new RangeError('an empty chain has no view');
  const pages = head.memoryPages;
  const source = new Int32Array(pages).fill(NEVER_WRITTEN);
  const segment = new Int32Array(pages);
  const offset = new Float64Array(pages);
  chain.forEach((manifest, index) => {
    for (const extent of manifest.extents) {
      // Memory never shrinks, but pages beyond the head's size are not part of its view.
      const end = Math.min(extent.first + extent.count, pages);
      for (let page = extent.first; page < end; page++) {
        if ('zero' in extent) {
          source[page] = ZERO_PAGE;
          continue;
        }
        source[page] = index;
        segment[page] = extent.segment;
        offset[page] = extent.offset + (page - extent.first) * manifest.pageSize;
      }
    }
  });
  let live = 0;
  for (let page = 0; page < pages; page++) if (source[page]! >= 0) live++;
  const storedBytes = chain.reduce((sum, m) => sum + m.storedBytes, 0);
  return { head, source, segment, offset, liveBytes: live * head.pageSize, storedBytes };
}

/** One segment a restore must read, and which of the head's pages it supplies. */
export interface SegmentRead {
  /** Index in the chain of the manifest that wrote it (for error messages). */
  manifest: number;
  hash: string;
  bytes: number;
  /** In increasing order; page p's bytes start at `view.offset[p]` in the segment. */
  pages: number[];
}

/**
 * The segments holding at least one live page of the view (only those are
 * read), in the order of their first page. Pages whose source is NEVER_WRITTEN or ZERO_PAGE are
 * in none: they are zero.
 */
export function segmentReads(chain: readonly CheckpointManifest[], view: ChainView): SegmentRead[] {
  // Indexed [manifest][segment] rather than keyed by a string: this runs once per page of memory.
  const byManifest: SegmentRead[][] = chain.map(() => []);
  const reads: SegmentRead[] = [];
  for (let page = 0; page < view.head.memoryPages; page++) {
    const m = view.source[page]!;
    if (m < 0) continue;
    const s = view.segment[page]!;
    let read = byManifest[m]![s];
    if (!read) {
      const { hash, bytes } = chain[m]!.segments[s]!;
      reads.push((read = byManifest[m]![s] = { manifest: m, hash, bytes, pages: [] }));
    }
    read.pages.push(page);
  }
  return reads;
}
