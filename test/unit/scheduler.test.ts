/** The scheduler with in-memory links: how tasks are spread, refused, capped and handed back. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, test } from 'node:test';
import { MAX_OUTPUT_BYTES } from '../../shared/limits.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import { JobService } from '../../server/jobs/job-service.ts';
import { ProgramService } from '../../server/programs/program-service.ts';
import { Scheduler } from '../../server/scheduler/scheduler.ts';
import type { VolunteerLink } from '../../server/scheduler/session.ts';
import { fileBlobStore } from '../../server/store/blob-store.ts';
import { openSqliteStore } from '../../server/store/sqlite-store.ts';
import type { Store } from '../../server/store/store.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';
import { waitFor } from '../helpers/wait-for.ts';

process.env.GRID_LOG ??= 'silent';
const dir = mkdtempSync(join(tmpdir(), 'grid-scheduler-'));
after(() => rmSync(dir, { recursive: true, force: true }));

class MemoryLink implements VolunteerLink {
  readonly assigned: TaskAssignment[] = [];
  readonly cancelled: string[] = [];
  constructor(private readonly accept = true) {}
  async assign(task: TaskAssignment): Promise<void> {
    if (!this.accept) throw new Error('no free slot');
    this.assigned.push(task);
  }
  cancel(taskId: string): void {
    this.cancelled.push(taskId);
  }
  readonly halted: { taskId: string; reason: string }[] = [];
  halt(taskId: string, reason: 'migrate' | 'preempt'): void {
    this.halted.push({ taskId, reason });
  }
  readonly checkpointsAsked: string[] = [];
  checkpointNow(taskId: string): void {
    this.checkpointsAsked.push(taskId);
  }
}

let store: Store;
let scheduler: Scheduler;
let jobs: JobService;
let run = 0;

beforeEach(() => {
  scheduler?.close();
  store?.close();
  store = openSqliteStore(join(dir, `s${run++}.db`));
  const programs = new ProgramService(store, fileBlobStore(join(dir, 'blobs')));
  programs.register({ bytes: emptyCommand(), format: 'wasm', name: 'empty' }); // no instrumentation: these tasks never run
  scheduler = new Scheduler(store, { job: () => {}, volunteers: () => {} });
  jobs = new JobService(store, programs, scheduler);
});

const hello = (id: string, slots: number) => ({ volunteerId: id, name: id, cores: 4, slots, leases: [], held: [] });

test('tasks are spread over volunteers up to their free slots', async () => {
  const a = new MemoryLink();
  const b = new MemoryLink();
  scheduler.connect(hello('volunteer-a', 3), a);
  scheduler.connect(hello('volunteer-b', 1), b);
  jobs.create({ program: 'empty', tasks: Array.from({ length: 10 }, () => ({ args: [] })) });
  await waitFor(() => a.assigned.length + b.assigned.length === 4);
  assert.equal(a.assigned.length, 3);
  assert.equal(b.assigned.length, 1);
  assert.equal(store.tasks.inState('queued').length, 6);
  const [first] = b.assigned;
  scheduler.finish(b, first!.taskId, first!.lease, { state: 'completed', exitCode: 0 });
  await waitFor(() => b.assigned.length === 2, 2_000, 'the freed slot to be filled');
});

test('a refused assignment goes back to the queue without counting a restart', async () => {
  const refuses = new MemoryLink(false);
  scheduler.connect(hello('volunteer-r', 1), refuses);
  const job = jobs.create({ program: 'empty' });
  await waitFor(() => store.tasks.forJob(job.id)[0]!.state === 'queued' && scheduler.sessions()[0]!.leases.size === 0);
  assert.equal(store.tasks.forJob(job.id)[0]!.restarts, 0);
  scheduler.disconnect(refuses, 'test over');
});

test('output beyond the per-task cap is dropped with one note', async () => {
  const link = new MemoryLink();
  scheduler.connect(hello('volunteer-o', 1), link);
  jobs.create({ program: 'empty' });
  await waitFor(() => link.assigned.length === 1);
  const { taskId, lease } = link.assigned[0]!;
  const chunk = new Uint8Array(60_000).fill(0x61);
  for (let sent = 0; sent < MAX_OUTPUT_BYTES + 200_000; sent += chunk.byteLength) scheduler.output(link, taskId, lease, 'stdout', chunk);
  const text = new TextDecoder().decode(store.tasks.output(taskId, 'stdout'));
  assert.ok(text.startsWith('a'.repeat(1000)));
  assert.match(text, /\[output truncated at \d+ bytes\]\n$/);
  assert.equal(text.match(/truncated/g)!.length, 1);
  assert.equal(text.length, MAX_OUTPUT_BYTES + text.slice(MAX_OUTPUT_BYTES).length);
});

test('a second connection with the same volunteer id replaces the first, whose tasks go back to the queue', async () => {
  const first = new MemoryLink();
  scheduler.connect(hello('volunteer-dup', 1), first);
  const job = jobs.create({ program: 'empty' });
  await waitFor(() => first.assigned.length === 1);
  const second = new MemoryLink();
  scheduler.connect(hello('volunteer-dup', 1), second);
  await waitFor(() => second.assigned.length === 1);
  assert.equal(store.tasks.forJob(job.id)[0]!.restarts, 1);
  assert.equal(scheduler.sessions().length, 1);
  assert.throws(() => scheduler.progress(first, first.assigned[0]!.taskId, first.assigned[0]!.lease, 0.5), /StaleLease/);
});

test('a second hello on the same connection starts a new session; the old one’s tasks go back to the queue', async () => {
  const link = new MemoryLink();
  scheduler.connect(hello('volunteer-twice', 1), link);
  const job = jobs.create({ program: 'empty' });
  await waitFor(() => link.assigned.length === 1);
  scheduler.connect(hello('volunteer-twice', 1), link);
  await waitFor(() => link.assigned.length === 2);
  assert.equal(scheduler.sessions().length, 1);
  assert.equal(store.tasks.forJob(job.id)[0]!.restarts, 1);
  const [first, second] = link.assigned;
  assert.throws(() => scheduler.progress(link, first!.taskId, first!.lease, 0.1), /StaleLease/);
  scheduler.progress(link, second!.taskId, second!.lease, 0.1);
});

/** Stores checkpoint `seq` of the task on the coordinator as its lease holder would (a base with no pages). */
function storeCheckpoint(taskId: string, lease: string, seq: number, digest = 'd'.repeat(64)): void {
  const manifest = {
    format: 1 as const,
    taskId,
    seq,
    parent: null,
    pageSize: 4096,
    memoryPages: 1,
    extents: [],
    segments: [],
    state: { output: { stdout: 0, stderr: 0 } },
    dirtyBytes: 0,
    storedBytes: 0,
    createdAt: seq,
  };
  store.checkpoints.put(manifest, { at: new Date().toISOString(), digest, lease });
}

test('a preempted job halts its running tasks through checkpoints and holds them until it is resumed', async () => {
  const link = new MemoryLink();
  scheduler.connect(hello('volunteer-p', 1), link);
  const job = jobs.create({ program: 'empty', tasks: [{ args: [] }, { args: [] }] });
  await waitFor(() => link.assigned.length === 1);
  const [running] = link.assigned;
  storeCheckpoint(running!.taskId, running!.lease, 3);

  jobs.preempt(job.id);
  assert.deepEqual(link.halted, [{ taskId: running!.taskId, reason: 'preempt' }]);
  assert.equal(store.jobs.get(job.id)!.state, 'preempted');
  assert.deepEqual(store.tasks.forJob(job.id).map((t) => t.state), ['running', 'preempted']);
  assert.throws(() => jobs.preempt(job.id), /Conflict/);

  scheduler.halted(link, running!.taskId, running!.lease, 3);
  const waiting = store.tasks.get(running!.taskId)!;
  assert.equal(waiting.state, 'preempted', 'a halted task of a preempted job waits as preempted');
  assert.equal(waiting.resumeSeq, 3);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(link.assigned.length, 1, 'nothing of a preempted job is dispatched');

  jobs.resume(job.id);
  await waitFor(() => link.assigned.length === 2);
  assert.equal(link.assigned[1]!.resume?.seq, 3, 'it continues from the checkpoint it halted at');
  assert.equal(store.jobs.get(job.id)!.state, 'running');
  assert.throws(() => jobs.resume(job.id), /Conflict/);
});

test('when every slot is busy, a queued task of higher priority halts a running one of lower priority', async () => {
  const link = new MemoryLink();
  scheduler.connect(hello('volunteer-q', 1), link);
  const low = jobs.create({ program: 'empty', priority: 1 });
  await waitFor(() => link.assigned.length === 1);
  jobs.create({ program: 'empty', priority: 1 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(link.halted, [], 'equal priority waits its turn');

  const high = jobs.create({ program: 'empty', priority: 5 });
  await waitFor(() => link.halted.length === 1);
  assert.deepEqual(link.halted, [{ taskId: `${low.id}.0`, reason: 'preempt' }]);
  const [lowTask] = link.assigned;
  storeCheckpoint(lowTask!.taskId, lowTask!.lease, 1);
  scheduler.halted(link, lowTask!.taskId, lowTask!.lease, 1);
  await waitFor(() => link.assigned.length === 2);
  assert.equal(link.assigned[1]!.taskId, `${high.id}.0`, 'the freed slot goes to the high-priority task');
  assert.equal(store.tasks.get(lowTask!.taskId)!.state, 'queued');
  assert.equal(link.halted.length, 1, 'one halt per waiting task');
});

test('a reconnecting volunteer gets back a waiting task whose newest checkpoint it holds, and is told to forget the others', async () => {
  const a = new MemoryLink();
  const b = new MemoryLink();
  scheduler.connect(hello('volunteer-h', 1), a);
  const job = jobs.create({ program: 'empty', tasks: [{ args: [] }, { args: [] }] });
  await waitFor(() => a.assigned.length === 1);
  const [task] = a.assigned;
  // Another volunteer takes the other task and is then full.
  scheduler.connect(hello('volunteer-other', 1), b);
  await waitFor(() => b.assigned.length === 1);
  storeCheckpoint(task!.taskId, task!.lease, 2, 'a'.repeat(64));
  scheduler.disconnect(a, 'tab closed');
  assert.equal(store.tasks.get(task!.taskId)!.resumeSeq, 2);

  // The holder reconnects, holding checkpoints 3 (never acknowledged) and 2.
  const again = new MemoryLink();
  const held = [
    { taskId: task!.taskId, seq: 3, digest: 'c'.repeat(64) },
    { taskId: task!.taskId, seq: 2, digest: 'a'.repeat(64) },
    { taskId: `${job.id}.9`, seq: 1, digest: 'a'.repeat(64) },
  ];
  const welcome = scheduler.connect({ ...hello('volunteer-h', 1), held }, again);
  assert.deepEqual(welcome.forget, [`${job.id}.9`]);
  await waitFor(() => again.assigned.length === 1);
  assert.equal(again.assigned[0]!.taskId, task!.taskId);
  assert.deepEqual({ seq: again.assigned[0]!.resume?.seq, digest: again.assigned[0]!.resume?.digest }, { seq: 2, digest: 'a'.repeat(64) });

  const wrong = new MemoryLink();
  const refused = scheduler.connect({ ...hello('volunteer-z', 1), held: [{ taskId: b.assigned[0]!.taskId, seq: 1, digest: 'a'.repeat(64) }] }, wrong);
  assert.deepEqual(refused.forget, [b.assigned[0]!.taskId], 'a task running elsewhere is not resumed from a local copy');
});

test('a checkpoint of a running job asks each of its running tasks for one now; a job not running is a 409', async () => {
  const link = new MemoryLink();
  scheduler.connect(hello('volunteer-c', 1), link);
  const job = jobs.create({ program: 'empty', tasks: [{ args: [] }, { args: [] }] });
  await waitFor(() => link.assigned.length === 1);
  jobs.checkpoint(job.id);
  assert.deepEqual(link.checkpointsAsked, [link.assigned[0]!.taskId]);
  const idle = jobs.create({ program: 'empty' });
  assert.throws(() => jobs.checkpoint(idle.id), /Conflict/);
});
