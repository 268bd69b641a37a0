/** Tasks reach volunteers, run under leases, and their output and results come back durable. */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { CHECKPOINTABLE_ABI, CKPT_SECTION } from '../../shared/checkpointable-abi.ts';
import type { CkptModuleInfo } from '../../shared/checkpointable-abi.ts';
import { customSection } from '../../server/programs/wasm-binary.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import type { ScriptedVolunteerOptions, TaskScript } from '../helpers/scripted-volunteer.ts';
import { startTestCoordinator } from '../helpers/test-coordinator.ts';
import type { TestCoordinator } from '../helpers/test-coordinator.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';
import { waitFor } from '../helpers/wait-for.ts';

let grid: TestCoordinator;
let programId: string;
const volunteers: ScriptedVolunteer[] = [];

before(async () => {
  grid = await startTestCoordinator();
  programId = (await grid.api.postProgram(emptyCommand(), 'wasm', 'empty')).id;
});

// Each test brings its own volunteers; none may take the next test's tasks.
afterEach(async () => {
  for (const v of volunteers.splice(0)) v.close();
  await waitFor(async () => (await grid.api.volunteers()).every((v) => !v.connected));
});

after(() => grid.close());

function volunteer(options: ScriptedVolunteerOptions): ScriptedVolunteer {
  const v = new ScriptedVolunteer(grid.coordinator.url, options);
  volunteers.push(v);
  return v;
}

test('independent tasks spread over volunteers and the job completes with every output', async () => {
  const echo = (name: string) => ({
    slots: 2,
    name,
    onTask: ((task, v) => {
      setTimeout(() => {
        v.output(task, `task ${task.index} args ${task.args.join(',')} on ${name}\n`);
        v.output(task, `warning ${task.index}\n`, 'stderr');
        void v.finish(task, 0, { index: task.index });
      }, 20);
    }) satisfies TaskScript,
  });
  const a = volunteer(echo('a'));
  const b = volunteer(echo('b'));
  await a.start();
  await b.start();
  const tasks = Array.from({ length: 8 }, (_, i) => ({ args: [String(i), 'x'] }));
  const { id } = await grid.api.postJob({ program: programId, name: 'spread', tasks });
  const job = await grid.api.waitForState(id, 'completed');
  assert.equal(job.tasks.length, 8);
  assert.ok(job.tasks.every((t) => t.state === 'completed' && t.exitCode === 0 && t.progress === 1));
  assert.equal(job.progress, 1);
  const output = await grid.api.output(id);
  const ran = new Set<string>();
  for (const t of output.tasks) {
    const match = /^task (\d+) args (\d+),x on (a|b)\n$/.exec(t.stdout);
    assert.ok(match, `unexpected stdout ${JSON.stringify(t.stdout)}`);
    assert.equal(Number(match[1]), t.index);
    assert.equal(Number(match[2]), t.index);
    ran.add(match[3]!);
    assert.equal(t.stderr, `warning ${t.index}\n`);
    assert.deepEqual(t.result, { index: t.index });
  }
  assert.deepEqual([...ran].sort(), ['a', 'b'], 'both volunteers ran tasks');
});

test('an assignment carries what the runtime needs', async () => {
  const v = volunteer({ slots: 1 });
  await v.start();
  const { id } = await grid.api.postJob({ program: 'empty', args: ['--n', '3'], priority: 5, pageSize: 8192 });
  const [task] = await v.waitForTasks(1);
  assert.ok(task);
  assert.equal(task.jobId, id);
  assert.deepEqual(task.args, ['--n', '3']);
  assert.equal(task.program.format, 'wasm');
  assert.equal(task.pageSize, 8192);
  assert.ok(task.memory.maximum >= task.memory.initial && task.memory.initial >= 1);
  const bytes = await fetch(grid.coordinator.url + task.program.url);
  assert.equal(bytes.headers.get('content-type'), 'application/wasm');
  // The checkpointable module (Node 20's V8 cannot compile it: it has a second memory, the tracker's).
  const info = customSection(new Uint8Array(await bytes.arrayBuffer()), CKPT_SECTION);
  assert.ok(info, 'volunteers download the instrumented module');
  assert.equal((JSON.parse(new TextDecoder().decode(info)) as CkptModuleInfo).abi, CHECKPOINTABLE_ABI);
  assert.equal((await grid.api.job(id)).state, 'running');
  await v.finish(task, 3);
  const done = await grid.api.waitForState(id, 'failed');
  assert.equal(done.tasks[0]!.exitCode, 3, 'a non-zero exit fails the task and keeps its code');
});

test('higher priority jobs are dispatched first', async () => {
  const low = await grid.api.postJob({ program: programId, name: 'low', priority: 1 });
  const high = await grid.api.postJob({ program: programId, name: 'high', priority: 9 });
  const v = volunteer({ slots: 1 });
  await v.start();
  const [first] = await v.waitForTasks(1);
  assert.equal(first!.jobId, high.id);
  await v.finish(first!);
  await grid.api.waitForState(high.id, 'completed');
  const second = await v.waitForTasks(1);
  assert.equal(second[0]!.jobId, low.id);
  await v.finish(second[0]!);
  await grid.api.waitForState(low.id, 'completed');
});

test('cancelling a job stops its running tasks and drops the queued ones', async () => {
  const v = volunteer({ slots: 1 });
  await v.start();
  const { id } = await grid.api.postJob({ program: programId, tasks: [{ args: [] }, { args: [] }, { args: [] }] });
  const [task] = await v.waitForTasks(1);
  await grid.api.ok('POST', `/api/jobs/${id}/cancel`, undefined, 202);
  const job = await grid.api.waitForState(id, 'cancelled');
  assert.ok(job.tasks.every((t) => t.state === 'cancelled'));
  await waitFor(() => v.cancelled.includes(task!.taskId));
  await assert.rejects(v.finish(task!), /StaleLease/);
});

test('a result of up to 1 MiB of JSON is accepted and read back whole', async () => {
  const v = volunteer({ slots: 1 });
  await v.start();
  const { id } = await grid.api.postJob({ program: programId });
  const [task] = await v.waitForTasks(1);
  const result = { values: Array.from({ length: 60_000 }, (_, i) => i * 1.5) };
  await v.finish(task!, 0, result);
  await grid.api.waitForState(id, 'completed');
  assert.deepEqual((await grid.api.output(id)).tasks[0]!.result, result);
});

test('checkpoints a volunteer reports are shown per task, only from the lease holder, and forgotten when the task starts over', async () => {
  const v = volunteer({ slots: 1 });
  await v.start();
  const { id } = await grid.api.postJob({ program: programId });
  const [task] = await v.waitForTasks(1);
  const report = (seq: number, lease = task!.lease) =>
    v.request('task:checkpoint', { taskId: task!.taskId, lease, seq, pages: 10 * seq, bytes: 40_960 * seq, stopMs: 0.05, saveMs: 12.5 });
  await report(1);
  await report(2);
  await assert.rejects(report(3, 'someone-else'), /StaleLease/);
  await assert.rejects(v.request('task:checkpoint', { taskId: task!.taskId, lease: task!.lease, seq: 0, pages: 1, bytes: 1, stopMs: 1, saveMs: 1 }), /ValidationError: task:checkpoint: seq/);
  const shown = (await grid.api.job(id)).tasks[0]!.localCheckpoints;
  assert.deepEqual(
    shown.map(({ seq, pages, bytes, stopMs, saveMs }) => ({ seq, pages, bytes, stopMs, saveMs })),
    [
      { seq: 1, pages: 10, bytes: 40_960, stopMs: 0.05, saveMs: 12.5 },
      { seq: 2, pages: 20, bytes: 81_920, stopMs: 0.05, saveMs: 12.5 },
    ],
  );
  v.close();
  const requeued = await grid.api.waitForJob(id, (j) => j.tasks[0]!.state === 'queued');
  assert.deepEqual(requeued.tasks[0]!.localCheckpoints, [], 'a task that starts over has no checkpoints');
  await grid.api.ok('POST', `/api/jobs/${id}/cancel`, undefined, 202);
});
