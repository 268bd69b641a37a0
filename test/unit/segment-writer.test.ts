/** Packing pages into segments (DESIGN.md §4 "Segments"): order, ~1 MiB boundaries, pages never split, offsets that find each page again. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SEGMENT_TARGET_BYTES } from '../../shared/checkpoint-format.ts';
import type { CheckpointManifest, PageExtent } from '../../shared/checkpoint-format.ts';
import { NEVER_WRITTEN, ZERO_PAGE, chainView } from '../../shared/chain-view.ts';
import { SegmentWriter, packPages } from '../../shared/segment-writer.ts';

/** A page whose bytes say which page it is, never all zeros. */
function pageBytes(page: number, size: number, salt = 0): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (page * 31 + i * 7 + salt + 1) % 251 || 1;
  return bytes;
}

/** Finds each page's bytes again through the extents: page → bytes, or 'zero'. */
function unpack(pageSize: number, segments: ArrayBuffer[], extents: PageExtent[]): Map<number, Uint8Array | 'zero'> {
  const pages = new Map<number, Uint8Array | 'zero'>();
  for (const e of extents) {
    for (let i = 0; i < e.count; i++) {
      if ('zero' in e) pages.set(e.first + i, 'zero');
      else pages.set(e.first + i, new Uint8Array(segments[e.segment]!, e.offset + i * pageSize, pageSize));
    }
  }
  return pages;
}

test('4 KiB pages fill 1 MiB segments exactly, in page order, and the last is sliced to its length', () => {
  const pageSize = 4096;
  const input = Array.from({ length: 600 }, (_, i) => [i * 2, pageBytes(i * 2, pageSize)] as const);
  const { segments, extents } = packPages(pageSize, input);
  assert.deepEqual(segments.map((s) => s.byteLength), [SEGMENT_TARGET_BYTES, SEGMENT_TARGET_BYTES, (600 - 512) * pageSize]);
  const found = unpack(pageSize, segments, extents);
  assert.equal(found.size, 600);
  for (const [page, bytes] of input) assert.deepEqual(found.get(page), bytes, `page ${page}`);
  // Page order is storage order: offsets grow through each segment, segments in turn.
  const order = extents.map((e) => ('zero' in e ? -1 : e.segment * SEGMENT_TARGET_BYTES + e.offset));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
});

test('consecutive pages in one segment share an extent; a gap or a new segment starts another', () => {
  const pageSize = 4096;
  const pages = [0, 1, 2, 5, 6, ...Array.from({ length: 300 }, (_, i) => 10 + i)];
  const { extents } = packPages(pageSize, pages.map((p) => [p, pageBytes(p, pageSize)] as const));
  assert.deepEqual(extents, [
    { first: 0, count: 3, segment: 0, offset: 0 },
    { first: 5, count: 2, segment: 0, offset: 3 * pageSize },
    { first: 10, count: 251, segment: 0, offset: 5 * pageSize },
    { first: 261, count: 49, segment: 1, offset: 0 },
  ]);
});

test('a written page that is all zeros is recorded as a zero extent and stores nothing', () => {
  const pageSize = 4096;
  const zero = new Uint8Array(pageSize);
  const { segments, extents } = packPages(pageSize, [
    [3, zero],
    [4, zero],
    [5, pageBytes(5, pageSize)],
    [9, zero],
  ]);
  assert.deepEqual(extents, [
    { first: 3, count: 2, zero: true },
    { first: 5, count: 1, segment: 0, offset: 0 },
    { first: 9, count: 1, zero: true },
  ]);
  assert.deepEqual(segments.map((s) => s.byteLength), [pageSize]);
});

test('a page is never split: odd sizes leave the tail of a segment empty, a page larger than the target gets its own', () => {
  const small = packPages(3000, [0, 1, 2, 3, 4, 5, 6].map((p) => [p, pageBytes(p, 3000)] as const), { targetBytes: 10_000 });
  assert.deepEqual(small.segments.map((s) => s.byteLength), [9000, 9000, 3000]);
  const big = packPages(65536, [0, 1].map((p) => [p, pageBytes(p, 65536)] as const), { targetBytes: 40_000 });
  assert.deepEqual(big.segments.map((s) => s.byteLength), [65536, 65536]);
});

test('pages out of order, repeated, or of the wrong size are refused', () => {
  const writer = new SegmentWriter(4096);
  writer.add(5, pageBytes(5, 4096));
  assert.throws(() => writer.add(5, pageBytes(5, 4096)), /increasing order/);
  assert.throws(() => writer.add(4, pageBytes(4, 4096)), /increasing order/);
  assert.throws(() => writer.add(6, new Uint8Array(100)), /expected 4096/);
});

test('a view of a larger (shared) buffer is copied out: segments never alias the input', () => {
  const memory = new Uint8Array(new SharedArrayBuffer(4096 * 4));
  memory.set(pageBytes(2, 4096), 2 * 4096);
  const { segments } = packPages(4096, [[2, memory.subarray(2 * 4096, 3 * 4096)]]);
  assert.ok(segments[0] instanceof ArrayBuffer);
  memory.fill(0);
  assert.deepEqual(new Uint8Array(segments[0]!), pageBytes(2, 4096));
});

test('property: any increasing set of pages, zero or not, unpacks to the same bytes', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(4096, 8192, 65536),
      fc.uniqueArray(fc.record({ page: fc.nat(2000), zero: fc.boolean() }), { selector: (p) => p.page, maxLength: 400 }),
      fc.integer({ min: 20_000, max: SEGMENT_TARGET_BYTES }),
      (pageSize, writes, targetBytes) => {
        const sorted = [...writes].sort((a, b) => a.page - b.page);
        const input = sorted.map(({ page, zero }) => [page, zero ? new Uint8Array(pageSize) : pageBytes(page, pageSize)] as const);
        const { segments, extents } = packPages(pageSize, input, { targetBytes });
        const found = unpack(pageSize, segments, extents);
        assert.equal(found.size, input.length);
        for (const [page, bytes] of input) assert.deepEqual(found.get(page), bytes.some((b) => b) ? bytes : 'zero');
        const perSegment = Math.max(1, Math.floor(targetBytes / pageSize)) * pageSize;
        for (const s of segments) assert.ok(s.byteLength <= perSegment && s.byteLength % pageSize === 0);
      },
    ),
    { seed: 3, numRuns: 60 },
  );
});

test('the view of a chain: the newest copy of a page wins, a zero extent zeroes, stored and live bytes add up', () => {
  const base = { pageSize: 4096, memoryPages: 8, storedBytes: 3 * 4096 };
  const parts: { memoryPages: number; storedBytes: number; extents: PageExtent[] }[] = [
    { ...base, memoryPages: 6, extents: [{ first: 0, count: 3, segment: 0, offset: 0 }] },
    { ...base, storedBytes: 4096, extents: [{ first: 1, count: 1, zero: true }, { first: 2, count: 1, segment: 0, offset: 0 }, { first: 7, count: 1, zero: true }] },
  ];
  const view = chainView(
    parts.map((m, i): CheckpointManifest => ({ format: 1, taskId: 't', seq: i + 1, parent: i || null, pageSize: 4096, segments: [], state: null, dirtyBytes: 0, createdAt: 0, ...m })),
  );
  assert.deepEqual([...view.source], [0, ZERO_PAGE, 1, NEVER_WRITTEN, NEVER_WRITTEN, NEVER_WRITTEN, NEVER_WRITTEN, ZERO_PAGE]);
  assert.equal(view.offset[0], 0);
  assert.equal(view.offset[2], 0);
  assert.equal(view.liveBytes, 2 * 4096);
  assert.equal(view.storedBytes, 4 * 4096);
});
