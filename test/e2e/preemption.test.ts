/**
 * Issue 5, preemption: a preempted task checkpoints, uploads, halts and frees
 * its volunteer for other work; resumed later, it continues from that
 * checkpoint and prints exactly what an uninterrupted run prints. An owner
 * preempts a job through the API; a higher-priority job preempts a lower one
 * by itself when every slot is busy. Real Chromium tabs, real coordinator.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { JobView } from '../../shared/http-api.ts';
import { CHURN_MIB, assertChurnOutput, postChurn } from '../helpers/churn-job.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';

let program: string;
const suite = e2eSuite({ setup: async ({ grid }) => void (program = await postChurn(grid.api)) });
afterEach(() => suite.closePages());

const LONG = [CHURN_MIB, '1500'];
const SHORT = [CHURN_MIB, '200'];
const FINISH_MS = 120_000;
const ended = (j: JobView) => j.state === 'completed' || j.state === 'failed';

test('a preempted job frees its volunteers for another job and, resumed, prints what an uninterrupted run prints', async () => {
  const { grid, log } = suite;
  const a = await suite.volunteer('A');
  const b = await suite.volunteer('B');
  const { id: first } = await grid.api.postJob({ program, tasks: [{ args: LONG }, { args: LONG }], checkpointIntervalMs: 1000 });
  await grid.api.waitForJob(first, (j) => j.tasks.every((t) => t.state === 'running' && (t.lastCheckpoint?.seq ?? 0) >= 1), 60_000);

  await grid.api.ok('POST', `/api/jobs/${first}/preempt`, undefined, 202);
  const held = await grid.api.waitForJob(first, (j) => j.tasks.every((t) => t.state === 'preempted'), 30_000);
  assert.equal(held.state, 'preempted');
  log.note(`preempted at checkpoints ${held.tasks.map((t) => t.lastCheckpoint?.seq).join(', ')}`);
  assert.equal((await grid.api.call('POST', `/api/jobs/${first}/preempt`)).status, 409, 'a preempted job cannot be preempted again');

  const { id: second } = await grid.api.postJob({ program, tasks: [{ args: SHORT }, { args: SHORT }] });
  const other = await grid.api.waitForJob(second, ended, FINISH_MS);
  assert.equal(other.state, 'completed');
  assert.deepEqual(new Set(other.tasks.map((t) => t.volunteer)), new Set([a.id, b.id]), 'the freed volunteers ran the other job');
  assert.equal((await grid.api.job(first)).state, 'preempted', 'the preempted job waited meanwhile');

  await grid.api.ok('POST', `/api/jobs/${first}/resume`, undefined, 202);
  const done = await grid.api.waitForJob(first, ended, FINISH_MS);
  assert.equal(done.state, 'completed', JSON.stringify(done.tasks));
  for (const task of done.tasks) {
    assert.ok(task.resumes.length >= 1, `task ${task.index} resumed from a checkpoint: ${JSON.stringify(task.resumes)}`);
    assert.ok(task.resumes[0]!.seq >= held.tasks[task.index]!.lastCheckpoint!.seq);
    await assertChurnOutput(grid.api, done, task.index, LONG);
  }
  await assertChurnOutput(grid.api, other, 0, SHORT);
});

test('a higher-priority job preempts a running lower-priority one by itself when no slot is free', async () => {
  const { grid } = suite;
  await suite.volunteer('A');
  const { id: low } = await grid.api.postJob({ program, args: LONG, priority: 0, checkpointIntervalMs: 1000 });
  await grid.api.waitForJob(low, (j) => (j.tasks[0]!.lastCheckpoint?.seq ?? 0) >= 1, 60_000);

  const { id: high } = await grid.api.postJob({ program, args: SHORT, priority: 10 });
  const urgent = await grid.api.waitForJob(high, ended, FINISH_MS);
  assert.equal(urgent.state, 'completed');
  const meanwhile = await grid.api.job(low);
  assert.notEqual(meanwhile.state, 'completed', 'the high-priority job did not wait for the low one to finish');

  const done = await grid.api.waitForJob(low, ended, FINISH_MS);
  assert.equal(done.state, 'completed');
  const task = done.tasks[0]!;
  assert.ok(task.resumes.length >= 1, `the low-priority task resumed from a checkpoint: ${JSON.stringify(task.resumes)}`);
  assert.ok(Date.parse(task.resumes[0]!.at) >= Date.parse(urgent.finishedAt!) - 1000, 'it resumed once the urgent job was done');
  await assertChurnOutput(grid.api, done, 0, LONG);
  await assertChurnOutput(grid.api, urgent, 0, SHORT);
});

test("a volunteer's pause button preempts its task through a checkpoint: it continues on another volunteer", async () => {
  const { grid } = suite;
  const a = await suite.volunteer('A');
  const b = await suite.volunteer('B');
  const { id } = await grid.api.postJob({ program, args: LONG, checkpointIntervalMs: 1000 });
  const before = await grid.api.waitForJob(id, (j) => (j.tasks[0]!.lastCheckpoint?.seq ?? 0) >= 1, 60_000);
  const [holder, other] = before.tasks[0]!.volunteer === a.id ? [a, b] : [b, a];
  await holder.page.locator('#pause').click();

  const done = await grid.api.waitForJob(id, ended, FINISH_MS);
  const task = done.tasks[0]!;
  assert.equal(done.state, 'completed', JSON.stringify(task));
  assert.equal(task.volunteer, other.id);
  assert.equal(task.resumes[0]?.from, 'coordinator', JSON.stringify(task.resumes));
  assert.ok(task.resumes[0]!.seq >= before.tasks[0]!.lastCheckpoint!.seq);
  assert.equal(await holder.finished(), 0);
  await assertChurnOutput(grid.api, done, 0, LONG);
});
