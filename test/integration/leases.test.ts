/** A task whose volunteer goes away (disconnect, pagehide, silence) goes back to the queue and runs elsewhere. */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { LEASE_MS } from '../../shared/limits.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import type { ScriptedVolunteerOptions } from '../helpers/scripted-volunteer.ts';
import { startTestCoordinator } from '../helpers/test-coordinator.ts';
import type { TestCoordinator } from '../helpers/test-coordinator.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';
import { waitFor } from '../helpers/wait-for.ts';

let grid: TestCoordinator;
const volunteers: ScriptedVolunteer[] = [];

before(async () => {
  grid = await startTestCoordinator();
  await grid.api.postProgram(emptyCommand(), 'wasm', 'empty');
});

afterEach(async () => {
  for (const v of volunteers.splice(0)) v.close();
  await waitFor(async () => (await grid.api.volunteers()).every((v) => !v.connected));
});

after(() => grid.close());

async function volunteer(options: ScriptedVolunteerOptions = {}): Promise<ScriptedVolunteer> {
  const v = new ScriptedVolunteer(grid.coordinator.url, options);
  volunteers.push(v);
  await v.start();
  return v;
}

/** Posts a one-task job and returns it with the volunteer that got the task. */
async function oneTaskOn(first: ScriptedVolunteer) {
  const { id } = await grid.api.postJob({ program: 'empty', args: ['x'] });
  const [task] = await first.waitForTasks(1);
  return { id, task: task! };
}

test('a volunteer that disconnects loses its task at once; another finishes it', async () => {
  const first = await volunteer();
  const { id, task } = await oneTaskOn(first);
  first.output(task, 'partial output from the lost run\n');
  await waitFor(async () => (await grid.api.output(id)).tasks[0]!.stdout !== '');
  const lostAt = Date.now();
  first.close();
  const requeued = await grid.api.waitForJob(id, (j) => j.tasks[0]!.restarts === 1, 2_000);
  assert.equal(requeued.tasks[0]!.state, 'queued');
  const detectMs = Date.now() - lostAt;
  assert.ok(detectMs < 1_000, `detected in ${detectMs} ms`);

  const second = await volunteer();
  const [again] = await second.waitForTasks(1);
  assert.equal(again!.taskId, task.taskId);
  assert.notEqual(again!.lease, task.lease, 'a new lease');
  second.output(again!, 'complete output\n');
  await second.finish(again!);
  await grid.api.waitForState(id, 'completed');
  const output = await grid.api.output(id);
  assert.equal(output.tasks[0]!.stdout, 'complete output\n', 'the lost run’s output is gone: the task started over');
});

test('pagehide’s goodbye ends the leases before the socket closes', async () => {
  const first = await volunteer();
  const { id } = await oneTaskOn(first);
  first.socket.emit('leaving');
  const job = await grid.api.waitForJob(id, (j) => j.tasks[0]!.restarts === 1, 2_000);
  assert.notEqual(job.tasks[0]!.state, 'running');
  assert.ok(first.socket.connected, 'still connected: the goodbye alone requeued it');
  const second = await volunteer();
  await second.finish((await second.waitForTasks(1))[0]!);
  await grid.api.waitForState(id, 'completed');
  assert.equal(first.tasks.size, 1, 'the leaving page was sent nothing new');
});

test('a connected but silent volunteer (no heartbeats) loses its lease within a few seconds, and gets no work until it heartbeats', async () => {
  const silent = await volunteer({ heartbeats: false });
  const { id, task } = await oneTaskOn(silent);
  const started = Date.now();
  await grid.api.waitForJob(id, (j) => j.tasks[0]!.restarts === 1, LEASE_MS * 3);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= LEASE_MS - 500 && elapsed < LEASE_MS * 2, `lease lost after ${elapsed} ms`);
  await waitFor(() => silent.cancelled.includes(task.taskId));
  await assert.rejects(silent.finish(task), /StaleLease/, 'a result under the expired lease is refused');
  // Its socket is open (socket.io's ping timeout is longer than a lease): the requeued task must not go back to it.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(silent.tasks.size, 0, 'the silent volunteer was given nothing');
  assert.equal((await grid.api.job(id)).tasks[0]!.state, 'queued');
  // Its first heartbeat makes it a candidate again.
  await silent.request('heartbeat', { leases: [] });
  const [again] = await silent.waitForTasks(1);
  assert.equal(again!.taskId, task.taskId);
  await grid.api.ok('POST', `/api/jobs/${id}/cancel`, undefined, 202);
});

test('heartbeats keep a long task’s lease alive', async () => {
  const steady = await volunteer();
  const { id, task } = await oneTaskOn(steady);
  await new Promise((r) => setTimeout(r, LEASE_MS * 1.5));
  assert.equal((await grid.api.job(id)).tasks[0]!.restarts, 0);
  await steady.finish(task);
  await grid.api.waitForState(id, 'completed');
});

test('results, progress and output under a lease the volunteer does not hold are refused and change nothing', async () => {
  const holder = await volunteer();
  const other = await volunteer();
  const { id, task } = await oneTaskOn(holder);
  await assert.rejects(other.finish(task), /StaleLease/);
  await assert.rejects(
    holder.request('task:finish', { taskId: task.taskId, lease: 'not-the-lease', exitCode: 0 }),
    /StaleLease/,
  );
  other.output(task, 'injected\n');
  await waitFor(() => other.protocolErrors.length > 0);
  assert.equal((await grid.api.output(id)).tasks[0]!.stdout, '');
  assert.equal((await grid.api.job(id)).tasks[0]!.state, 'running');
  await holder.finish(task);
  await grid.api.waitForState(id, 'completed');
});
