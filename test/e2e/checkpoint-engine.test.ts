/**
 * The checkpoint engine end to end in headless Chromium (DESIGN.md §4): a
 * synthetic compute worker writes random bytes through the write barrier,
 * grows its memory and requests checkpoints at random times; the real
 * checkpoint worker saves them to the page's real IndexedDB while the
 * program runs on; every committed checkpoint must restore exactly the
 * memory (and state) the compute worker copied at its suspension.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { build } from 'esbuild';
import fc from 'fast-check';
import type { Page } from 'playwright-core';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import type { EngineResult, EngineRun, Harness } from './checkpoint-engine.page.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
let page: Page;

async function bundle(entry: string, format: 'esm' | 'iife'): Promise<string> {
  const out = await build({ entryPoints: [entry], bundle: true, write: false, format, platform: 'browser', target: 'es2022', logLevel: 'warning' });
  return out.outputFiles[0]!.text;
}

e2eSuite({
  setup: async (s) => {
    const [pageScript, real, faulty, compute] = await Promise.all([
      bundle(here('./checkpoint-engine.page.ts'), 'iife'),
      bundle(here('../../client/checkpoint/checkpoint-worker.ts'), 'esm'),
      bundle(here('./checkpoint-engine.faulty.ts'), 'esm'),
      bundle(here('./checkpoint-engine.compute.ts'), 'esm'),
    ]);
    const volunteer = await s.volunteer(`engine-${Math.random().toString(36).slice(2, 6)}`);
    page = volunteer.page;
    await page.addScriptTag({ content: pageScript });
    assert.equal(await call('isolated'), true, 'the page can share memory with its workers');
    await call('setCode', real, faulty, compute);
  },
});

function call<K extends keyof Harness>(name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>> {
  return page.evaluate(
    ([n, a]) => (globalThis as unknown as { engineHarness: Record<string, (...x: unknown[]) => unknown> }).engineHarness[n]!(...a),
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<Harness[K]>>>;
}

function describe(r: EngineResult): string {
  return `suspended ${r.suspended.join(',')} committed ${r.committed.join(',')} failed ${r.failed.join(',')} cow ${r.cowCopies} poolFull ${r.poolFullWaits}`;
}

let runs = 0;
const runArbitrary = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  pageSize: fc.constantFrom(4096, 16384),
  // 2 slots: the pool fills and the writer waits for the scanner.
  poolSlots: fc.constantFrom(2, 64),
});

test('every committed checkpoint restores exactly the memory at its suspension, while the program keeps writing', async () => {
  await fc.assert(
    fc.asyncProperty(runArbitrary, async ({ seed, pageSize, poolSlots }) => {
      const options: EngineRun = { taskId: `engine-${runs++}`, seed, steps: 3000, pageSize, poolSlots, worker: 'real' };
      const r = await call('run', options);
      assert.equal(r.computeError, undefined, r.computeError);
      assert.ok(r.suspended.length >= 3, `several checkpoints were taken (${describe(r)})`);
      assert.deepEqual(r.failed, []);
      assert.deepEqual(r.committed, r.suspended, 'every suspension committed, in order');
      assert.deepEqual(r.manifests, r.committed);
      for (const seq of r.committed) assert.equal(r.mismatches[seq], -1, `checkpoint ${seq} restores its oracle (${describe(r)})`);
      for (const [i, report] of r.reports.entries()) assert.equal(report.parent, i === 0 ? null : r.reports[i - 1]!.seq);
    }),
    { seed: 53, numRuns: 4 },
  );
});

test('tracking by comparison: every committed checkpoint restores exactly the memory at its suspension', async () => {
  await fc.assert(
    fc.asyncProperty(runArbitrary, async ({ seed, pageSize }) => {
      const options: EngineRun = { taskId: `engine-diff-${runs++}`, seed, steps: 3000, pageSize, poolSlots: 2, worker: 'real', tracking: 'diff' };
      const r = await call('run', options);
      assert.equal(r.computeError, undefined, r.computeError);
      assert.ok(r.suspended.length >= 3, `several checkpoints were taken (${describe(r)})`);
      assert.deepEqual(r.failed, []);
      assert.deepEqual(r.committed, r.suspended, 'every suspension committed, in order');
      for (const seq of r.committed) assert.equal(r.mismatches[seq], -1, `checkpoint ${seq} restores its oracle (${describe(r)})`);
      assert.equal(r.cowCopies, 0, 'nothing writes through the barrier, so nothing is copied on write');
    }),
    { seed: 71, numRuns: 3 },
  );
});

test('after a commit fails, the next checkpoint holds everything since the last committed one', async () => {
  const r = await call('run', { taskId: 'engine-failing', seed: 7, steps: 4000, pageSize: 4096, poolSlots: 64, worker: 'faulty' });
  assert.equal(r.computeError, undefined, r.computeError);
  assert.ok(r.failed.length >= 1, `some commits failed (${describe(r)})`);
  assert.deepEqual(r.failed, r.suspended.filter((s) => s % 3 === 0));
  assert.deepEqual(r.manifests, r.committed, 'a failed checkpoint left no manifest');
  // The suspension after each failure rebuilt (marked every written page).
  for (const seq of r.failed) {
    const next = r.suspended.find((s) => s > seq);
    if (next !== undefined) assert.ok(r.rebuilt.includes(next), `checkpoint ${next} after failed ${seq} was rebuilt`);
  }
  for (const seq of r.committed) assert.equal(r.mismatches[seq], -1, `checkpoint ${seq} restores its oracle (${describe(r)})`);
});

test('a checkpoint worker terminated mid-flush leaves the previous checkpoints restorable and nothing half-visible', async () => {
  for (const afterMs of [0, 3, 12]) {
    const r = await call('run', { taskId: `engine-killed-${afterMs}`, seed: 11 + afterMs, steps: 20_000, pageSize: 4096, poolSlots: 64, worker: 'real', kill: { seq: 4, afterMs } });
    assert.ok(r.suspended.includes(4), `checkpoint 4 began (${describe(r)})`);
    // Whatever the store shows is a prefix of the suspensions and restores exactly.
    assert.deepEqual(r.manifests, r.suspended.slice(0, r.manifests.length));
    assert.ok(r.manifests.length >= 3, `checkpoints 1–3 are there (${describe(r)})`);
    for (const seq of r.manifests) assert.equal(r.mismatches[seq], -1, `checkpoint ${seq} restores its oracle (${describe(r)})`);
  }
});
