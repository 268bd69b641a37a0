/**
 * Rebuilds the memory a chain describes from the blob store and writes it
 * back as one base checkpoint: the I/O half of coordinator-side compaction
 * (coordinator-compaction.ts decides when, and swaps it in).
 *
 * It holds only the live pages (those the chain stores), not the whole
 * memory: a task's memory may be large and mostly never written. Every
 * segment read is checked against its length and SHA-256 first, so a
 * damaged blob fails the compaction instead of spreading into a base.
 */
import { chainView, segmentReads } from '../../shared/chain-view.ts';
import type { ChainView } from '../../shared/chain-view.ts';
import { CHECKPOINT_FORMAT, CheckpointCorruptError } from '../../shared/checkpoint-format.ts';
import type { CheckpointManifest, SegmentRef } from '../../shared/checkpoint-format.ts';
import { SegmentWriter, isZeroPage } from '../../shared/segment-writer.ts';
import { sha256Hex } from '../store/blob-store.ts';
import type { BlobStore } from '../store/blob-store.ts';

/** The head's live pages in increasing order, their bytes back to back in `image`. */
interface LivePages {
  pages: number[];
  image: Uint8Array;
}

async function readLivePages(blobs: BlobStore, chain: readonly CheckpointManifest[], view: ChainView, pause: () => Promise<void>): Promise<LivePages> {
  const { head } = view;
  const { pageSize } = head;
  const rank = new Int32Array(head.memoryPages);
  const pages: number[] = [];
  for (let page = 0; page < head.memoryPages; page++) {
    if (view.source[page]! < 0) continue;
    rank[page] = pages.length;
    pages.push(page);
  }
  const image = new Uint8Array(pages.length * pageSize);
  for (const read of segmentReads(chain, view)) {
    const bytes = await blobs.getAsync(read.hash);
    const where = `${head.taskId} checkpoint ${chain[read.manifest]!.seq} segment ${read.hash}`;
    if (!bytes) throw new CheckpointCorruptError(`${where} is missing from the blob store`);
    if (bytes.byteLength !== read.bytes) throw new CheckpointCorruptError(`${where} has ${bytes.byteLength} bytes, expected ${read.bytes}`);
    if (sha256Hex(bytes) !== read.hash) throw new CheckpointCorruptError(`${where} does not match its SHA-256`);
    for (const page of read.pages) {
      const offset = view.offset[page]!;
      image.set(bytes.subarray(offset, offset + pageSize), rank[page]! * pageSize);
    }
    await pause();
  }
  return { pages, image };
}

/**
 * Writes the base for the head of `chain` (base first): same seq, state,
 * pageSize, memoryPages and createdAt (it is the same checkpoint), parent
 * null, pages that are all zeros left out (a base starts from zeros), the
 * rest packed in page order into segments of about SEGMENT_TARGET_BYTES.
 * Calls `pause` often enough to keep each stretch of work short.
 */
export async function buildBase(blobs: BlobStore, chain: readonly CheckpointManifest[], pause: () => Promise<void>): Promise<CheckpointManifest> {
  const view = chainView(chain);
  const { head } = view;
  const { pageSize } = head;
  const live = await readLivePages(blobs, chain, view, pause);
  const writer = new SegmentWriter(pageSize);
  const segments: SegmentRef[] = [];
  const store = async (segment: ArrayBuffer | undefined) => {
    if (segment) segments.push({ hash: await blobs.putAsync(new Uint8Array(segment)), bytes: segment.byteLength });
  };
  for (const [i, page] of live.pages.entries()) {
    const bytes = live.image.subarray(i * pageSize, (i + 1) * pageSize);
    if (!isZeroPage(bytes)) await store(writer.add(page, bytes));
    await pause();
  }
  const { last, extents } = writer.finish();
  await store(last);
  const storedBytes = segments.reduce((sum, s) => sum + s.bytes, 0);
  return {
    format: CHECKPOINT_FORMAT,
    taskId: head.taskId,
    seq: head.seq,
    parent: null,
    pageSize,
    memoryPages: head.memoryPages,
    extents,
    segments,
    state: head.state,
    dirtyBytes: writer.pages * pageSize,
    storedBytes,
    createdAt: head.createdAt,
  };
}
