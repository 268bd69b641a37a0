/**
 * Issue 5: checkpoints outlive the tab. A task's checkpoints are uploaded as
 * they are taken, so losing its tab costs only the work since the last one
 * the coordinator acknowledged: the task resumes elsewhere from there, or in
 * the reopened tab from its own IndexedDB, and its output is still byte for
 * byte what node:wasi prints for an uninterrupted run. An upload cut off
 * halfway leaves nothing half-stored; a volunteer whose IndexedDB is full
 * keeps checkpointing through the coordinator. Real Chromium tabs, closed for
 * real; the connection cut by a real proxy.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, test } from 'node:test';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { CHURN_MIB, assertChurnOutput, postChurn } from '../helpers/churn-job.ts';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';

let program: string;
const suite = e2eSuite({ setup: async ({ grid }) => void (program = await postChurn(grid.api)) });
afterEach(() => suite.closePages());

/** About 15 s of rewriting memory in Chromium: still running when its tab goes. */
const ARGS = [CHURN_MIB, '2000'];
const FINISH_MS = 120_000;

test('a task whose tab closes after its second acknowledged checkpoint finishes on another volunteer from that checkpoint', async () => {
  const { grid, log } = suite;
  const a = await suite.volunteer('A');
  const { id } = await grid.api.postJob({ program, args: ARGS, checkpointIntervalMs: 1000 });
  const before = await grid.api.waitForJob(id, (j) => (j.tasks[0]!.lastCheckpoint?.seq ?? 0) >= 2, 60_000);
  assert.equal(before.tasks[0]!.volunteer, a.id);
  assert.equal(before.state, 'running');
  const b = await suite.volunteer('B');
  log.note(`closing A with checkpoint ${before.tasks[0]!.lastCheckpoint!.seq} acknowledged`);
  await a.page.close();

  const done = await grid.api.waitForJob(id, (j) => j.state === 'completed' || j.state === 'failed', FINISH_MS);
  const task = done.tasks[0]!;
  assert.equal(done.state, 'completed', JSON.stringify(task));
  assert.equal(task.volunteer, b.id);
  assert.equal(task.resumes.length, 1, JSON.stringify(task.resumes));
  assert.equal(task.resumes[0]!.from, 'coordinator');
  assert.ok(task.resumes[0]!.seq >= 2, `resumed from checkpoint ${task.resumes[0]!.seq}`);
  await assertChurnOutput(grid.api, done, 0, ARGS);
});

/** Counts the `checkpoint:fetch` requests a page sends over its socket. */
function countFetches(page: Page): { count: number } {
  const seen = { count: 0 };
  page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => void (typeof payload === 'string' && payload.includes('"checkpoint:fetch"') && seen.count++)));
  return seen;
}

test('a volunteer whose only tab closes and reopens resumes the task from its own IndexedDB, downloading nothing', async () => {
  const { grid, log } = suite;
  const first = await suite.volunteer('A');
  const { id } = await grid.api.postJob({ program, args: ARGS, checkpointIntervalMs: 1000 });
  const before = await grid.api.waitForJob(id, (j) => (j.tasks[0]!.lastCheckpoint?.seq ?? 0) >= 2, 60_000);
  log.note(`closing A's only tab with checkpoint ${before.tasks[0]!.lastCheckpoint!.seq} acknowledged`);
  await first.page.close();
  await grid.api.waitForJob(id, (j) => j.tasks[0]!.state === 'queued', 10_000);

  let fetches = { count: 0 };
  const again = await suite.volunteer('A again', 1, { context: first.context, beforeLoad: (page) => void (fetches = countFetches(page)) });
  assert.equal(again.id, first.id, 'the reopened tab is the same volunteer');
  const done = await grid.api.waitForJob(id, (j) => j.state === 'completed' || j.state === 'failed', FINISH_MS);
  const task = done.tasks[0]!;
  assert.equal(done.state, 'completed', JSON.stringify(task));
  assert.equal(task.resumes.length, 1, JSON.stringify(task.resumes));
  assert.equal(task.resumes[0]!.from, 'local');
  assert.ok(task.resumes[0]!.seq >= before.tasks[0]!.lastCheckpoint!.seq, 'from the newest checkpoint the coordinator acknowledged');
  assert.equal(fetches.count, 0, 'no segment was downloaded');
  await assertChurnOutput(grid.api, done, 0, ARGS);
});

/** Every blob is complete: named by the SHA-256 of its bytes. */
function assertBlobsWhole(dir: string): number {
  let count = 0;
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/^[0-9a-f]{64}$/.test(name)) {
        assert.equal(createHash('sha256').update(readFileSync(path)).digest('hex'), name, `blob ${name} is whole`);
        count += 1;
      }
    }
  };
  walk(dir);
  return count;
}

test('an upload cut off halfway leaves nothing half-stored, and the task resumes from the previous checkpoint', async () => {
  const { grid, log } = suite;
  const proxy = await startCuttingProxy(new URL(grid.coordinator.url));
  try {
    await suite.volunteer('A', 1, { baseUrl: proxy.url });
    const { id } = await grid.api.postJob({ program, args: ARGS, checkpointIntervalMs: 1000 });
    await grid.api.waitForJob(id, (j) => j.tasks[0]!.checkpoints >= 1, 60_000);
    // Uploads lag the 1 s checkpoints (each holds the whole 8 MiB, rewritten meanwhile): 3 MiB more is part of an upload, never a whole one.
    await proxy.cutAfter(3 << 20);
    log.note('cut the connection 3 MiB into an upload');
    const lost = await grid.api.waitForJob(id, (j) => j.tasks[0]!.restarts >= 1, 30_000);
    const newest = lost.tasks[0]!.lastCheckpoint!.seq;
    assert.ok(
      lost.tasks[0]!.localCheckpoints.some((c) => c.seq > newest),
      `the volunteer had committed a checkpoint after ${newest} locally, whose upload was cut`,
    );
    const blobs = assertBlobsWhole(join(grid.dataDir, 'blobs'));

    const done = await grid.api.waitForJob(id, (j) => j.state === 'completed' || j.state === 'failed', FINISH_MS);
    const task = done.tasks[0]!;
    assert.equal(done.state, 'completed', JSON.stringify(task));
    // The same tab reconnects and gets the task back: it holds checkpoint `newest` too, so it may resume from either copy.
    assert.equal(task.resumes[0]?.seq, newest, JSON.stringify(task.resumes));
    log.note(`${blobs} blobs were whole after the cut; resumed from ${newest} (${task.resumes[0]!.from})`);
    await assertChurnOutput(grid.api, done, 0, ARGS);
  } finally {
    await proxy.close();
  }
});

test('a volunteer whose IndexedDB is full keeps checkpointing to the coordinator alone, and its task survives the tab', async () => {
  const { grid, log } = suite;
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL('./full-disk.worker.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
  });
  const fullDisk = async (page: Page) => {
    await page.context().route('**/build/checkpoint-worker.js', (route) =>
      route.fulfill({
        body: bundled.outputFiles[0]!.text,
        contentType: 'text/javascript',
        headers: { 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Resource-Policy': 'same-origin' },
      }),
    );
  };
  const a = await suite.volunteer('A', 1, { beforeLoad: fullDisk });
  const { id } = await grid.api.postJob({ program, args: ARGS, checkpointIntervalMs: 1000 });
  // Checkpoint 2 found the disk full; from 3 on, checkpoints live in memory until the coordinator holds them.
  const before = await grid.api.waitForJob(id, (j) => (j.tasks[0]!.lastCheckpoint?.seq ?? 0) >= 4, 60_000);
  assert.equal(before.tasks[0]!.volunteer, a.id);
  assert.ok(!before.tasks[0]!.localCheckpoints.some((c) => c.seq === 2), 'checkpoint 2 did not commit');
  const b = await suite.volunteer('B');
  log.note(`closing A with checkpoint ${before.tasks[0]!.lastCheckpoint!.seq} on the coordinator only`);
  await a.page.close();

  const done = await grid.api.waitForJob(id, (j) => j.state === 'completed' || j.state === 'failed', FINISH_MS);
  const task = done.tasks[0]!;
  assert.equal(done.state, 'completed', JSON.stringify(task));
  assert.equal(task.volunteer, b.id);
  assert.equal(task.resumes[0]?.from, 'coordinator', JSON.stringify(task.resumes));
  assert.ok(task.resumes[0]!.seq >= 4);
  await assertChurnOutput(grid.api, done, 0, ARGS);
});
