/** The manifest schema the coordinator will validate uploads with: it accepts what the writer makes and names the field of what is wrong. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHECKPOINT_FORMAT, checkpointManifestSchema } from '../../shared/checkpoint-format.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { GridError } from '../../shared/errors.ts';
import { parseOrThrow } from '../../shared/validate.ts';
import { sha256Hex } from '../../client/checkpoint/segment-hash.ts';
import { packPages } from '../../shared/segment-writer.ts';

async function writerManifest(): Promise<CheckpointManifest> {
  const pageSize = 4096;
  const pages = [0, 1, 2, 300, 301, 700].map((p) => [p, new Uint8Array(pageSize).fill(p % 2 ? 0 : (p % 250) + 1)] as const);
  const { segments, extents } = packPages(pageSize, pages, { targetBytes: 2 * pageSize });
  const refs = await Promise.all(segments.map(async (s) => ({ hash: await sha256Hex(s), bytes: s.byteLength })));
  return {
    format: CHECKPOINT_FORMAT,
    taskId: 'job-1/0',
    seq: 4,
    parent: 3,
    pageSize,
    memoryPages: 1024,
    extents,
    segments: refs,
    state: { runtime: { globals: [1, 2.5], stack: 'AAEC', done: false } },
    dirtyBytes: pages.length * pageSize,
    storedBytes: refs.reduce((sum, r) => sum + r.bytes, 0),
    createdAt: 1_700_000_000_000,
  };
}

function problem(value: unknown): string {
  try {
    parseOrThrow(checkpointManifestSchema, value, 'manifest');
  } catch (error) {
    assert.ok(error instanceof GridError && error.name === 'ValidationError');
    return error.message;
  }
  assert.fail('expected the manifest to be refused');
}

test('the schema accepts a manifest built from the segment writer, unchanged', async () => {
  const manifest = await writerManifest();
  assert.ok(manifest.extents.some((e) => 'zero' in e), 'the sample includes zero pages');
  assert.deepEqual(parseOrThrow(checkpointManifestSchema, manifest), manifest);
  assert.deepEqual(parseOrThrow(checkpointManifestSchema, { ...manifest, parent: null, seq: 1 }).parent, null);
});

test('malformed manifests are refused with the path of the bad field', async () => {
  const m = await writerManifest();
  const [first, second] = m.extents;
  assert.match(problem({ ...m, taskId: 7 }), /^manifest: taskId: /);
  assert.match(problem({ ...m, format: 2 }), /^manifest: format: /);
  assert.match(problem({ ...m, pageSize: 5000 }), /pageSize: expected a power of two/);
  assert.match(problem({ ...m, parent: 4 }), /parent: expected a seq below seq/);
  assert.match(problem({ ...m, segments: [{ hash: 'xyz', bytes: 1 }, ...m.segments.slice(1)] }), /segments\[0\]\.hash: expected a hex SHA-256/);
  assert.match(problem({ ...m, extents: [second, first, ...m.extents.slice(2)] }), /extents\[1\]\.first: extents must be sorted/);
  assert.match(problem({ ...m, memoryPages: 500 }), /extents\[\d\]\.count: extent ends beyond memoryPages/);
  assert.match(problem({ ...m, extents: [{ ...first, segment: 9 }, ...m.extents.slice(1)] }), /extents\[0\]\.segment: no such segment/);
  assert.match(problem({ ...m, extents: [{ ...first, offset: 8192 }, ...m.extents.slice(1)] }), /extents\[0\]\.offset: extent ends beyond its segment/);
  assert.match(problem({ ...m, extents: [{ first: 0, count: 0, zero: true }] }), /extents\[0\]\.count: /);
  assert.match(problem({ ...m, dirtyBytes: 1 }), /dirtyBytes: /);
  assert.match(problem({ ...m, storedBytes: 1 }), /storedBytes: /);
  assert.match(problem({ ...m, state: { f: () => 1 } }), /state/);
  assert.match(problem({ ...m, extra: true }), /extra|Unrecognized/i);
});
