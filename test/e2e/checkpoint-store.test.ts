/**
 * The checkpoint store on real IndexedDB in headless Chromium (DESIGN.md §4
 * "Segments", "Commit", "Restore"): the page side (checkpoint-store.page.ts)
 * is bundled with esbuild and injected into a volunteer page, which is
 * same-origin with the coordinator and cross-origin isolated (shared memory).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { build } from 'esbuild';
import fc from 'fast-check';
import type { Page } from 'playwright-core';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import type { Harness, Step } from './checkpoint-store.page.ts';

const PAGE_SCRIPT = fileURLToPath(new URL('./checkpoint-store.page.ts', import.meta.url));
/** Pages per 1 MiB segment at the harness's 4 KiB pages. */
const PAGES_PER_SEGMENT = 256;

let page: Page;

const suite = e2eSuite({
  setup: async (s) => {
    page = await openHarness(s);
  },
});

async function openHarness(s: typeof suite): Promise<Page> {
  const bundle = await build({ entryPoints: [PAGE_SCRIPT], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', logLevel: 'warning' });
  const volunteer = await s.volunteer(`checkpoints-${Math.random().toString(36).slice(2, 6)}`);
  assert.equal(await volunteer.page.evaluate(() => crossOriginIsolated), true, 'the page can make SharedArrayBuffers');
  await volunteer.page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  return volunteer.page;
}

/** Calls `harness[name](...args)` in the page. */
function call<K extends keyof Harness>(target: Page, name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>> {
  return target.evaluate(
    ([n, a]) => (globalThis as unknown as { checkpointHarness: Record<string, (...x: unknown[]) => unknown> }).checkpointHarness[n]!(...a),
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<Harness[K]>>>;
}

/** A random task history: memory grows now and then, writes land anywhere in it (both ends included), some pages are rewritten as zeros. */
const stepsArbitrary = fc
  .array(fc.record({ grow: fc.nat(300), writes: fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), fill: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1e6 })) }), { maxLength: 400 }), ends: fc.boolean() }), { minLength: 1, maxLength: 5 })
  .map((raw) => {
    let pages = 16;
    return raw.map(({ grow, writes, ends }): Step => {
      pages += grow;
      const chosen = writes.map(({ at, fill }) => ({ page: Math.min(pages - 1, Math.floor(at * pages)), fill }));
      if (ends) chosen.push({ page: 0, fill: 11 }, { page: pages - 1, fill: 13 });
      return { pages, writes: chosen };
    });
  });

test('a chain of checkpoints of random writes restores byte-identical to the oracle at every k', async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(stepsArbitrary, async (steps) => {
      const taskId = `chain-${run++}`;
      const seqs = await call(page, 'runSteps', taskId, steps, false);
      assert.deepEqual(seqs, steps.map((_, i) => i + 1));
      const report = await call(page, 'verify', taskId, seqs);
      assert.deepEqual(report.mismatches, seqs.map(() => -1), `first differing byte per checkpoint (-2: wrong state) of ${taskId}`);
    }),
    { seed: 47, numRuns: 8 },
  );
});

test('a checkpoint whose manifest was never written is invisible: the previous one restores, and prune drops its segments', async () => {
  const taskId = 'interrupted';
  const writes = (n: number, fill: number) => Array.from({ length: n }, (_, i) => ({ page: i, fill: fill + i }));
  await call(page, 'runSteps', taskId, [{ pages: 600, writes: writes(300, 1) }, { pages: 600, writes: writes(20, 5000) }], false);
  const before = await call(page, 'inventory', taskId);
  // 3 × 256 pages make 3 full segments, stored one per transaction, then the "worker" dies before its manifest.
  await call(page, 'runSteps', taskId, [{ pages: 800, writes: writes(3 * PAGES_PER_SEGMENT + 10, 9000) }], true);
  const after = await call(page, 'inventory', taskId);
  assert.ok(after.segments >= before.segments + 3, 'the dead checkpoint left segments behind');
  assert.equal(after.pending, 1, 'they are marked as in flight, so another task’s prune leaves them alone');
  assert.equal(await call(page, 'newest', taskId), 2);
  assert.deepEqual(after.manifests, before.manifests);
  const restored = await call(page, 'restoreNewest', taskId);
  assert.equal(restored?.seq, 2);
  assert.equal(restored?.matches, true);
  assert.deepEqual(restored?.state, { runtime: { seq: 2, step: 1, note: 'after 20 writes' } });

  assert.equal((await call(page, 'prune')).segments, 0, 'without the owner, an in-flight commit is kept');
  assert.ok((await call(page, 'prune', taskId)).segments >= 3, 'the owner’s prune deletes the dead checkpoint’s segments');
  const cleaned = await call(page, 'inventory', taskId);
  assert.equal(cleaned.segments, before.segments);
  assert.equal(cleaned.pending, 0);
  assert.equal((await call(page, 'restoreNewest', taskId))?.matches, true);
});

test('a corrupted or missing segment is detected on restore with a named error', async () => {
  const taskId = 'corrupt';
  await call(page, 'runSteps', taskId, [{ pages: 64, writes: [{ page: 3, fill: 42 }, { page: 40, fill: 43 }] }], false);
  assert.equal((await call(page, 'restoreNewest', taskId))?.matches, true);
  await call(page, 'damage', taskId, 'flip');
  const flipped = await call(page, 'corruptRestore', taskId);
  assert.equal(flipped?.name, 'CheckpointCorrupt');
  assert.match(flipped?.message ?? '', /corrupt checkpoint 1 segment [0-9a-f]{64} does not match its SHA-256/);
  await call(page, 'damage', taskId, 'delete');
  assert.match((await call(page, 'corruptRestore', taskId))?.message ?? '', /is missing/);
});

test('compaction merges a chain into a base at the same seq: restores stay identical and read at most the live memory', async () => {
  const taskId = 'hot-pages';
  // 300 hot pages, each round rewriting three in four of them: the chain stores ~3× the live memory, and
  // every old segment still holds some newest copies, so a restore of the chain reads all of it.
  const hot = (round: number): Step => ({
    pages: 512,
    writes: Array.from({ length: 300 }, (_, i) => ({ page: 100 + i, fill: round * 1000 + i })).filter((_, i) => i % 4 !== round - 1),
  });
  const seqs = await call(page, 'runSteps', taskId, [hot(1), hot(2), hot(3), hot(4)], false);
  const before = await call(page, 'inventory', taskId);
  assert.equal(before.needsCompaction, true);
  const chained = await call(page, 'restoreNewest', taskId);
  assert.equal(chained?.matches, true);
  // Rounds 3 and 4 hold the newest copies: a restore reads 450 pages' worth for 300 live ones.
  assert.ok(chained!.bytesRead >= 1.4 * 300 * 4096, `before compaction a restore reads old segments too (${chained!.bytesRead} bytes)`);

  const compacted = await call(page, 'compact', taskId);
  assert.equal(compacted?.seq, 4);
  assert.equal(compacted?.parent, null);
  assert.ok(compacted!.pruned >= 3, 'the chain’s old segments are gone');
  const after = await call(page, 'inventory', taskId);
  assert.deepEqual(after.manifests, [{ seq: 4, parent: null }]);
  assert.equal(after.needsCompaction, false);
  const restored = await call(page, 'restoreNewest', taskId);
  assert.equal(restored?.matches, true);
  assert.deepEqual(restored?.state, { runtime: { seq: 4, step: 3, note: 'after 225 writes' } });
  assert.ok(restored!.bytesRead <= 300 * 4096, `after compaction a restore reads the live memory only (${restored!.bytesRead} bytes)`);
  assert.equal(await call(page, 'compact', taskId), undefined, 'a single base needs no compaction');

  // The chain goes on from the base.
  const next = await call(page, 'runSteps', taskId, [{ pages: 600, writes: [{ page: 599, fill: 7 }, { page: 100, fill: 0 }] }], false);
  assert.deepEqual(next, [5]);
  assert.deepEqual((await call(page, 'verify', taskId, [4, 5])).mismatches, [-1, -1]);
  assert.equal(seqs.length, 4);
});

test('a fresh browser context (a new IndexedDB) has no checkpoints', async () => {
  const fresh = await openHarness(suite);
  assert.equal(await call(fresh, 'newest', 'hot-pages'), null);
  assert.equal(await call(fresh, 'restoreNewest', 'chain-0'), null);
  assert.deepEqual(await call(fresh, 'inventory', 'hot-pages'), { manifests: [], segments: 0, pending: 0, needsCompaction: false });
  assert.equal(await call(page, 'newest', 'hot-pages'), 5, 'while the first context still has its own');
});

test('IndexedDB write throughput: checkpoint segments against raw 1 MiB puts, same page, same run', async (t) => {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await call(page, 'throughput', 16));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const ours = median(runs.map((r) => r.ours));
  const raw = median(runs.map((r) => r.raw));
  t.diagnostic(`ours ${ours.toFixed(0)} MB/s, raw ${raw.toFixed(0)} MB/s, ratio ${(ours / raw).toFixed(2)} (median of 3 × 16 MiB; runs: ${runs.map((r) => `${r.ours.toFixed(0)}/${r.raw.toFixed(0)}`).join(', ')})`);
  assert.ok(ours > 0 && raw > 0);
});
