/**
 * Compaction of the coordinator's checkpoint chains (issue 5), on a real
 * SQLite store and a real blob folder: the base restores to the same memory,
 * byte for byte, as the chain it replaces; older manifests go; the digest the
 * volunteer uploaded stays; and a task that is not running, or whose
 * volunteer may still be fetching the chain it resumed from, is left alone,
 * also when that changes while the base is being built.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointCorruptError, SEGMENT_TARGET_BYTES, checkpointManifestSchema, manifestDigestInput } from '../../shared/checkpoint-format.ts';
import { needsCompaction } from '../../shared/compaction-rule.ts';
import { CoordinatorCompaction } from '../../server/checkpoints/coordinator-compaction.ts';
import { fileBlobStore } from '../../server/store/blob-store.ts';
import type { BlobStore } from '../../server/store/blob-store.ts';
import { openSqliteStore } from '../../server/store/sqlite-store.ts';
import type { Store } from '../../server/store/store.ts';
import { randomChain, restoreLiterally, sha256 } from '../helpers/checkpoint-chains.ts';
import type { ChainCheckpoint } from '../helpers/checkpoint-chains.ts';

process.env.GRID_LOG ??= 'silent';

const dir = mkdtempSync(join(tmpdir(), 'grid-compaction-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TASK = 'job.0';

interface Grid {
  store: Store;
  blobs: BlobStore;
  compaction: CoordinatorCompaction;
}

/** A store with one job of one task, running under lease `lease-1`. */
function grid(name: string): Grid {
  const store = openSqliteStore(join(dir, `${name}.db`));
  const blobs = fileBlobStore(join(dir, `${name}-blobs`));
  const at = new Date().toISOString();
  const program = { id: 'a'.repeat(64), name: 'p', format: 'wasm' as const, size: 1, builtin: false, runnable: 'a'.repeat(64), memory: { initial: 1, maximum: 16 }, createdAt: at };
  store.programs.put(program);
  store.jobs.insert(
    { id: 'job', name: 'job', programId: program.id, args: [], env: {}, ranks: 1, coupled: false, priority: 0, checkpointIntervalMs: 1000, pageSize: 4096, redundancy: 1, state: 'running', tasksTotal: 1, createdAt: at },
    [{ id: TASK, index: 0, args: [], seed: 0 }],
  );
  store.tasks.assign(TASK, 'v1', 'lease-1', at);
  return { store, blobs, compaction: new CoordinatorCompaction(store, blobs) };
}

/** What CheckpointService does for an upload: segments into the blob store, then the manifest with its digest. */
function upload({ store, blobs }: Grid, checkpoints: readonly ChainCheckpoint[], lease = 'lease-1'): void {
  for (const { manifest, segments } of checkpoints) {
    for (const segment of segments) blobs.put(segment);
    store.checkpoints.put(manifest, { at: new Date().toISOString(), digest: sha256(new TextEncoder().encode(manifestDigestInput(manifest))), lease });
  }
}

const read = (blobs: BlobStore) => (hash: string) => blobs.get(hash);

for (const { pageSize, pages, writeShare } of [
  { pageSize: 4096, pages: [300, 350, 400, 400, 420], writeShare: 0.6 },
  { pageSize: 65536, pages: [20, 24, 24, 26], writeShare: 0.8 },
]) {
  test(`a long chain (${pageSize / 1024} KiB pages) becomes a base of the same memory, byte for byte; older manifests go, the digest stays`, async () => {
    const g = grid(`same-memory-${pageSize}`);
    const chain = randomChain(TASK, { pageSize, pages, writeShare, seed: pageSize });
    upload(g, chain);
    const head = chain.at(-1)!;
    const { seq } = head.manifest;
    const before = g.store.checkpoints.chain(TASK, seq);
    assert.equal(before.length, pages.length);
    assert.ok(needsCompaction(before), 'the chain stores more than twice its live memory');
    assert.deepEqual(restoreLiterally(before, read(g.blobs)), head.memory, 'the chain restores to the memory it recorded');
    const digest = g.store.checkpoints.digest(TASK, seq);

    const result = await g.compaction.compact(TASK);
    assert.equal(result.outcome, 'compacted');

    const now = g.store.checkpoints.chain(TASK, seq);
    assert.equal(now.length, 1, 'one manifest is left: the base');
    const [base] = now;
    assert.equal(base!.parent, null);
    assert.equal(base!.seq, seq);
    for (let older = 1; older < seq; older++) assert.equal(g.store.checkpoints.get(TASK, older), undefined, `manifest ${older} is gone`);
    assert.equal(g.store.checkpoints.digest(TASK, seq), digest, 'the digest names the checkpoint as uploaded');
    assert.deepEqual(restoreLiterally(now, read(g.blobs)), head.memory, 'the base restores to the same memory');
    assert.deepEqual(base!.state, head.manifest.state);
    assert.equal(base!.memoryPages, head.manifest.memoryPages);
    assert.equal(base!.pageSize, pageSize);
    assert.equal(base!.createdAt, head.manifest.createdAt);
    checkpointManifestSchema.parse(base); // every field and cross-field rule a volunteer's upload must meet

    const zeroPages = Array.from({ length: base!.memoryPages }, (_, p) => head.memory.subarray(p * pageSize, (p + 1) * pageSize).every((b) => b === 0)).filter(Boolean).length;
    assert.ok(base!.extents.every((e) => !('zero' in e)), 'a base starts from zeros: zero pages are left out');
    assert.equal(base!.dirtyBytes, (base!.memoryPages - zeroPages) * pageSize, 'every non-zero page is stored once');
    assert.equal(base!.storedBytes, base!.dirtyBytes);
    assert.ok(base!.segments.length > 1, 'more than one segment: packing is exercised');
    for (const s of base!.segments) {
      assert.ok(s.bytes <= SEGMENT_TARGET_BYTES && s.bytes % pageSize === 0, `segment of ${s.bytes} bytes: whole pages, at most the target`);
      assert.ok(g.blobs.has(s.hash));
    }
    assert.equal(g.store.checkpoints.summariesOfJob('job').get(TASK)?.count, 1);
    assert.deepEqual(await g.compaction.compact(TASK), { outcome: 'not-needed' });
    g.store.close();
  });
}

test('a chain that reads less than twice its memory is not compacted', async () => {
  const g = grid('short');
  upload(g, randomChain(TASK, { pages: [40, 40], writeShare: 0.3 }));
  assert.deepEqual(await g.compaction.compact(TASK), { outcome: 'not-needed' });
  assert.equal(g.store.checkpoints.chain(TASK, 2).length, 2);
  g.store.close();
});

test('compaction is refused for a task that is not running, or has not uploaded past the checkpoint it resumed from', async () => {
  const g = grid('refused');
  const chain = randomChain(TASK, { pages: [64, 64, 64, 64, 64] });
  upload(g, chain.slice(0, 4));
  g.store.tasks.requeueFrom(TASK, 4, { stdout: 0, stderr: 0 }, { lost: true });
  assert.equal((await g.compaction.compact(TASK)).outcome, 'refused', 'queued to resume from 4');

  g.store.tasks.assign(TASK, 'v2', 'lease-2', new Date().toISOString());
  const fetching = await g.compaction.compact(TASK);
  assert.deepEqual(fetching, { outcome: 'refused', reason: 'checkpoint 4 is not past the resume point 4' }, 'its volunteer may still be fetching the chain of 4');
  assert.equal(g.store.checkpoints.chain(TASK, 4).length, 4, 'the chain is untouched');

  upload(g, chain.slice(4), 'lease-2');
  assert.equal((await g.compaction.compact(TASK)).outcome, 'compacted', 'checkpoint 5 shows the resume is over');
  assert.deepEqual(restoreLiterally(g.store.checkpoints.chain(TASK, 5), read(g.blobs)), chain[4]!.memory);

  g.store.tasks.finish(TASK, { state: 'completed', exitCode: 0, at: new Date().toISOString() });
  assert.deepEqual(await g.compaction.compact(TASK), { outcome: 'refused', reason: 'the task is completed' });
  g.store.close();
});

test('the swap is refused when the task changes while the base is being built', async () => {
  const g = grid('raced');
  const chain = randomChain(TASK, { pages: [64, 64, 64, 64, 64] });
  upload(g, chain.slice(0, 4));
  // compact() reads the chain, then awaits its first blob: these writes land before its swap.
  const newer = g.compaction.compact(TASK);
  upload(g, chain.slice(4));
  assert.deepEqual(await newer, { outcome: 'refused', reason: 'checkpoint 5 arrived meanwhile' });
  assert.equal(g.store.checkpoints.chain(TASK, 5).length, 5, 'nothing was swapped');

  const requeued = g.compaction.compact(TASK);
  g.store.tasks.requeueFrom(TASK, 5, { stdout: 0, stderr: 0 }, { lost: true });
  assert.deepEqual(await requeued, { outcome: 'refused', reason: 'the task is queued' });
  assert.equal(g.store.checkpoints.chain(TASK, 5).length, 5);
  assert.deepEqual(restoreLiterally(g.store.checkpoints.chain(TASK, 5), read(g.blobs)), chain[4]!.memory);
  g.store.close();
});

test('a damaged segment fails the compaction and keeps the chain', async () => {
  const g = grid('damaged');
  const chain = randomChain(TASK, { pages: [32, 32, 32, 32] });
  upload(g, chain);
  const hash = chain[1]!.manifest.segments[0]!.hash;
  writeFileSync(join(dir, 'damaged-blobs', hash.slice(0, 2), hash), new Uint8Array(chain[1]!.manifest.segments[0]!.bytes));
  await assert.rejects(g.compaction.compact(TASK), (error: unknown) => error instanceof CheckpointCorruptError && /does not match its SHA-256/.test(error.message));
  assert.equal(g.store.checkpoints.chain(TASK, 4).length, 4);
  g.store.close();
});

test('offers coalesce and are compacted one at a time, off the caller', async () => {
  const g = grid('offers');
  const chain = randomChain(TASK, { pages: [64, 64, 64, 64] });
  upload(g, chain);
  for (let i = 0; i < chain.length; i++) g.compaction.offer(TASK);
  assert.equal(g.store.checkpoints.chain(TASK, 4).length, 4, 'nothing happens inside the upload handler');
  await g.compaction.idle();
  assert.equal(g.store.checkpoints.chain(TASK, 4).length, 1);
  await g.compaction.close();
  g.compaction.offer(TASK); // ignored once closed
  await g.compaction.idle();
  g.store.close();
});

test('compacting a 16 MiB memory leaves the event loop free: no stretch of work near the ~50 ms a coordinator may stall', async () => {
  const g = grid('event-loop');
  upload(g, randomChain(TASK, { pages: [4096, 4096, 4096], writeShare: 0.8, zeroShare: 0.05 }));
  await g.store.commit.durable();
  let longest = 0;
  let last = performance.now();
  let running = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const result = await g.compaction.compact(TASK);
  running = false;
  assert.equal(result.outcome, 'compacted');
  // Generous against a loaded machine's hiccups; a compaction done in one go takes several hundred ms here.
  assert.ok(longest < 150, `the event loop waited ${longest.toFixed(0)} ms at once`);
  g.store.close();
});
