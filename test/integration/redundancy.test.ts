/**
 * Result validation by redundancy against a real coordinator: honest scripted
 * volunteers run the real hello program (test/fixtures/hello, in node:wasi),
 * cheating ones speak the protocol but make their output up. (The job names
 * the tiny empty program: the coordinator never runs code, and posting hello
 * would cost its instrumentation, seconds on CI, for nothing.) A cheater's output is never accepted,
 * it is marked outvoted, no volunteer runs two replicas of one index, and
 * replicas that never agree end in a visible failure.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';
import { maxReplicas } from '../../shared/limits.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import { fixturePath, runInNodeWasi } from '../fixtures/runtime-harness.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import { startTestCoordinator } from '../helpers/test-coordinator.ts';
import type { TestCoordinator } from '../helpers/test-coordinator.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';
import { waitFor } from '../helpers/wait-for.ts';

const hello = readFileSync(fixturePath('hello'));
let grid: TestCoordinator;
let programId: string;
const volunteers: ScriptedVolunteer[] = [];

before(async () => {
  grid = await startTestCoordinator();
  programId = (await grid.api.postProgram(emptyCommand(), 'wasm', 'empty')).id;
});

afterEach(async () => {
  for (const v of volunteers.splice(0)) v.close();
  await waitFor(async () => (await grid.api.volunteers()).every((v) => !v.connected));
});

after(() => grid.close());

/** What test/fixtures/hello/program.c prints, worked out from its source rather than by running it. */
function reference(args: readonly string[]): { stdout: string; stderr: string } {
  const lines = [`hello from hello with ${args.length} argument(s)`, ...args.map((a, i) => `argv[${i + 1}]=${a}`)];
  return { stdout: lines.map((l) => `${l}\n`).join(''), stderr: 'a line on stderr\n' };
}

/** Every task index each volunteer was given, by volunteer id (to check none got two replicas of one). */
const given = new Map<string, string[]>();

function volunteer(name: string, slots: number, answer: (task: TaskAssignment) => { stdout: string; stderr: string; exitCode: number }, delayMs = 0) {
  const v = new ScriptedVolunteer(grid.coordinator.url, {
    name,
    slots,
    onTask: (task, self) => {
      given.set(self.volunteerId, [...(given.get(self.volunteerId) ?? []), `${task.jobId}/${task.index}`]);
      setTimeout(() => {
        const { stdout, stderr, exitCode } = answer(task);
        self.output(task, stdout);
        self.output(task, stderr, 'stderr');
        // A replica cancelled meanwhile answers with a stale lease: that is expected.
        self.finish(task, exitCode).catch(() => {});
      }, delayMs);
    },
  });
  volunteers.push(v);
  return v;
}

/** Runs the real program in node:wasi, as the task asks. */
const honest = (task: TaskAssignment) => {
  const run = runInNodeWasi(hello, ['hello', ...task.args]);
  return { stdout: run.stdout.toString(), stderr: run.stderr.toString(), exitCode: run.exitCode };
};
/** Plausible but wrong: one argument too few, at once. */
const cheat = (task: TaskAssignment) => ({ ...reference(task.args.slice(1)), exitCode: 0 });

function assertNoVolunteerRanAnIndexTwice(): void {
  for (const [id, indexes] of given) assert.equal(new Set(indexes).size, indexes.length, `volunteer ${id} ran one index twice: ${indexes.join(' ')}`);
}

test('redundancy 3: a fast cheater with many slots is outvoted on every task, and every output is the reference', async () => {
  const cheater = volunteer('cheater', 20, cheat);
  await cheater.start(); // first, with the most slots: it gets a replica of every index
  for (const name of ['honest-1', 'honest-2']) await volunteer(name, 3, honest, 30).start();
  const tasks = Array.from({ length: 6 }, (_, i) => ({ args: Array.from({ length: i + 1 }, (_, j) => `t${i}a${j}`) }));
  const { id } = await grid.api.postJob({ program: programId, tasks, redundancy: 3 });

  const job = await grid.api.waitForState(id, 'completed', 15_000);
  assert.equal(job.tasksDone, 6);
  const output = await grid.api.output(id);
  assert.equal(output.tasks.length, 6, 'one output per task index');
  for (const [i, task] of output.tasks.entries()) {
    assert.equal(task.index, i);
    assert.deepEqual({ stdout: task.stdout, stderr: task.stderr }, reference(tasks[i]!.args), `task ${i}`);
    assert.equal(task.exitCode, 0);
  }
  const cheated = given.get(cheater.volunteerId)!.filter((t) => t.startsWith(id));
  assert.equal(cheated.length, 6, 'the cheater ran a replica of every index');
  for (const t of job.tasks.filter((row) => row.volunteer === cheater.volunteerId)) assert.equal(t.verdict, 'outvoted', `replica ${t.id}`);
  assert.equal(job.tasks.filter((t) => t.verdict === 'accepted').length, 6);
  assert.ok(job.tasks.every((t) => t.verdict !== 'accepted' || t.volunteer !== cheater.volunteerId));
  const listed = (await grid.api.volunteers()).find((v) => v.id === cheater.volunteerId);
  assert.equal(listed?.outvoted, 6);
  assertNoVolunteerRanAnIndexTwice();
});

test('redundancy 2: a cheater and an honest volunteer disagree; a third volunteer breaks the tie', async () => {
  const cheater = volunteer('cheater', 4, cheat);
  const first = volunteer('honest-1', 4, honest);
  await cheater.start();
  await first.start();
  const args = ['x', 'y'];
  const { id } = await grid.api.postJob({ program: programId, args, redundancy: 2 });
  // Both answered, they disagree: the third replica waits, since neither may run it.
  await grid.api.waitForJob(id, (job) => job.tasks.length === 3 && job.tasks[2]!.state === 'queued', 5_000);
  await volunteer('honest-2', 1, honest).start();
  const job = await grid.api.waitForState(id, 'completed', 5_000);
  assert.deepEqual(
    job.tasks.map((t) => [t.replica, t.verdict]),
    [[0, job.tasks[0]!.volunteer === cheater.volunteerId ? 'outvoted' : 'accepted'], [1, job.tasks[1]!.volunteer === cheater.volunteerId ? 'outvoted' : 'accepted'], [2, 'agreed']],
  );
  const [task] = (await grid.api.output(id)).tasks;
  assert.deepEqual({ stdout: task!.stdout, stderr: task!.stderr, replicas: task!.replicas }, { ...reference(args), replicas: 3 });
  assertNoVolunteerRanAnIndexTwice();
});

test('replicas that never agree run up to the limit, then the task and its job fail visibly', async () => {
  const limit = maxReplicas(2);
  for (let n = 0; n < limit; n++) await volunteer(`liar-${n}`, 2, () => ({ stdout: `my own answer ${n}\n`, stderr: '', exitCode: 0 })).start();
  const { id } = await grid.api.postJob({ program: programId, redundancy: 2 });
  const job = await grid.api.waitForState(id, 'failed', 10_000);
  assert.equal(job.tasks.length, limit);
  assert.ok(job.tasks.every((t) => t.verdict === 'undecided' && t.state === 'completed'));
  assert.equal(new Set(job.tasks.map((t) => t.volunteer)).size, limit, 'each replica on another volunteer');
  const [task] = (await grid.api.output(id)).tasks;
  assert.equal(task!.state, 'failed');
  assert.equal(task!.error, `NoMajority: no majority among ${limit} replicas`);
  assert.equal(task!.stdout, '');
});

test('a coupled job cannot have redundancy: 400 naming redundancy', async () => {
  const response = await grid.api.call<{ error: { name: string; message: string } }>('POST', '/api/jobs', { program: programId, ranks: 2, redundancy: 3 });
  assert.equal(response.status, 400);
  assert.equal(response.body.error.name, 'ValidationError');
  assert.match(response.body.error.message, /redundancy/);
});
