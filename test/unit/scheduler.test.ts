/** The scheduler with in-memory links: how tasks are spread, refused, capped and handed back. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { MAX_OUTPUT_BYTES, maxReplicas } from '../../shared/limits.ts';
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
  cancel(taskId: string, _reason: string, keepCheckpoints = false): void {
    this.cancelled.push(taskId);
    this.cancelKeeping(taskId, keepCheckpoints);
  }
  readonly halted: { taskId: string; reason: string }[] = [];
  halt(taskId: string, reason: 'migrate' | 'preempt'): void {
    this.halted.push({ taskId, reason });
  }
  readonly checkpointsAsked: string[] = [];
  checkpointNow(taskId: string): void {
    this.checkpointsAsked.push(taskId);
  }
  readonly kept: string[] = [];
  cancelKeeping(taskId: string, keep: boolean): void {
    if (keep) this.kept.push(taskId);
  }
  readonly delivered: { taskId: string; lease: string; from: number; data: Uint8Array }[] = [];
  deliver(taskId: string, lease: string, from: number, data: Uint8Array): void {
    this.delivered.push({ taskId, lease, from, data });
  }
  readonly rounds: { taskId: string; round: number }[] = [];
  roundCheckpoint(taskId: string, round: number): void {
    this.rounds.push({ taskId, round });
  }
  readonly released: { taskId: string; round: number; aborted: boolean }[] = [];
  roundRelease(taskId: string, round: number, aborted: boolean): void {
    this.released.push({ taskId, round, aborted });
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

describe('coupled jobs', () => {
  test('ranks start together only when enough slots are free, and the job says it waits', async () => {
    const a = new MemoryLink();
    scheduler.connect(hello('volunteer-ga', 2), a);
    const job = jobs.create({ program: 'empty', ranks: 3 });
    await waitFor(() => scheduler.gangWaiting(job.id) !== undefined);
    assert.deepEqual(scheduler.gangWaiting(job.id), { needed: 3, free: 2 });
    assert.equal(a.assigned.length, 0);
    const b = new MemoryLink();
    scheduler.connect(hello('volunteer-gb', 1), b);
    await waitFor(() => a.assigned.length + b.assigned.length === 3);
    assert.equal(scheduler.gangWaiting(job.id), undefined);
    assert.deepEqual([...a.assigned, ...b.assigned].map((t) => t.rank).sort(), [0, 1, 2]);
    // Neighbouring ranks share a volunteer (they talk without the relay).
    assert.deepEqual(a.assigned.map((t) => t.rank).sort(), [0, 1]);
    assert.ok([...a.assigned, ...b.assigned].every((t) => t.ranks === 3 && t.coupled?.epoch === 0));
  });

  test('the relay forwards frames to the holder of the destination rank, stamped with the sender rank', async () => {
    const a = new MemoryLink();
    const b = new MemoryLink();
    scheduler.connect(hello('volunteer-ra', 1), a);
    scheduler.connect(hello('volunteer-rb', 1), b);
    jobs.create({ program: 'empty', ranks: 2 });
    await waitFor(() => a.assigned.length + b.assigned.length === 2);
    const [x] = a.assigned;
    const [y] = b.assigned;
    scheduler.relay(a, x!.taskId, x!.lease, y!.rank, new Uint8Array([1, 2, 3]));
    assert.equal(b.delivered.length, 1);
    assert.deepEqual({ ...b.delivered[0], data: [...b.delivered[0]!.data] }, { taskId: y!.taskId, lease: y!.lease, from: x!.rank, data: [1, 2, 3] });
    // A stale lease is dropped silently (it is what a rollback leaves in flight); an unknown rank is an error.
    scheduler.relay(a, x!.taskId, 'not-a-lease', y!.rank, new Uint8Array([1]));
    assert.equal(b.delivered.length, 1);
    assert.throws(() => scheduler.relay(a, x!.taskId, x!.lease, 7, new Uint8Array([1])), /ranks 0 to 1/);
  });

  test('a coordinated round releases its ranks once all entered; its stored checkpoints make the recovery line; a lost rank rolls every rank back to it', async () => {
    const a = new MemoryLink();
    const b = new MemoryLink();
    scheduler.connect(hello('volunteer-ca', 1), a);
    scheduler.connect(hello('volunteer-cb', 1), b);
    const job = jobs.create({ program: 'empty', ranks: 2, checkpointIntervalMs: 3_600_000 });
    await waitFor(() => a.assigned.length + b.assigned.length === 2);
    const [x] = a.assigned;
    const [y] = b.assigned;
    jobs.checkpoint(job.id);
    assert.deepEqual([...a.rounds, ...b.rounds].map((r) => r.round), [1, 1]);
    scheduler.enterRound(a, x!.taskId, x!.lease, 1, 3);
    assert.equal(a.released.length, 0, 'nobody runs on before everybody stopped');
    scheduler.enterRound(b, y!.taskId, y!.lease, 1, 2);
    await waitFor(() => a.released.length === 1 && b.released.length === 1);
    assert.equal(a.released[0]!.aborted, false);
    assert.throws(() => scheduler.enterRound(a, x!.taskId, x!.lease, 1, 3), /not open/);

    storeCheckpoint(x!.taskId, x!.lease, 3, 'a'.repeat(64));
    scheduler.checkpointStored(x!.taskId);
    assert.equal(store.jobs.get(job.id)!.recoveryLine, undefined, 'one rank\'s checkpoint is not a line');
    storeCheckpoint(y!.taskId, y!.lease, 2, 'b'.repeat(64));
    scheduler.checkpointStored(y!.taskId);
    assert.equal(store.jobs.get(job.id)!.recoveryLine, 1);

    // Round 2 is open when rank y's volunteer goes: the round is aborted, and both ranks go back to round 1.
    jobs.checkpoint(job.id);
    scheduler.disconnect(b, 'test');
    assert.deepEqual(a.released.at(-1), { taskId: x!.taskId, round: 2, aborted: true });
    assert.deepEqual(a.kept, [x!.taskId], 'the survivor keeps its local checkpoints');
    const waiting = new Map(store.tasks.forJob(job.id).map((t) => [t.id, [t.state, t.resumeSeq]]));
    assert.deepEqual(waiting.get(x!.taskId), ['queued', 3]);
    assert.deepEqual(waiting.get(y!.taskId), ['queued', 2]);
    assert.equal(store.jobs.get(job.id)!.rollbacks, 1);

    // Both ranks come back together: the survivor gets its own from its IndexedDB (held), the other from the coordinator.
    const c = new MemoryLink();
    scheduler.connect(hello('volunteer-cc', 1), c);
    await waitFor(() => a.assigned.length === 2 && c.assigned.length === 1);
    assert.equal(a.assigned[1]!.taskId, x!.taskId);
    assert.equal(a.assigned[1]!.resume?.seq, 3);
    assert.equal(a.assigned[1]!.resume?.digest, 'a'.repeat(64));
    assert.equal(c.assigned[0]!.resume?.seq, 2);
    assert.equal(c.assigned[0]!.coupled?.epoch, 1);
  });

  test('a rollback abandons the rounds and checkpoints after its line: new checkpoints with their seqs never make an old round a line', async () => {
    const a = new MemoryLink();
    const b = new MemoryLink();
    scheduler.connect(hello('volunteer-la', 1), a);
    scheduler.connect(hello('volunteer-lb', 1), b);
    const job = jobs.create({ program: 'empty', ranks: 2, checkpointIntervalMs: 3_600_000 });
    await waitFor(() => a.assigned.length + b.assigned.length === 2);
    const [x] = a.assigned;
    const [y] = b.assigned;
    const round = async (n: number, seqX: number, seqY: number) => {
      jobs.checkpoint(job.id);
      scheduler.enterRound(a, x!.taskId, x!.lease, n, seqX);
      scheduler.enterRound(b, y!.taskId, y!.lease, n, seqY);
      await waitFor(() => a.released.some((r) => r.round === n));
    };
    await round(1, 3, 2);
    storeCheckpoint(x!.taskId, x!.lease, 3);
    storeCheckpoint(y!.taskId, y!.lease, 2);
    scheduler.checkpointStored(y!.taskId);
    assert.equal(store.jobs.get(job.id)!.recoveryLine, 1);
    // Round 2 is recorded, but y's volunteer goes before uploading its checkpoint 3 for it.
    await round(2, 4, 3);
    storeCheckpoint(x!.taskId, x!.lease, 4);
    scheduler.checkpointStored(x!.taskId);
    scheduler.disconnect(b, 'test');
    assert.equal(store.checkpoints.get(x!.taskId, 4), undefined, 'the abandoned run\'s checkpoint is gone');
    assert.ok(store.checkpoints.get(x!.taskId, 3), 'the line\'s checkpoint stays');

    const c = new MemoryLink();
    scheduler.connect(hello('volunteer-lc', 1), c);
    await waitFor(() => a.assigned.length === 2 && c.assigned.length === 1);
    const [x2, y2] = [a.assigned[1]!, c.assigned[0]!];
    // The new run takes checkpoints 4 and 3 at other points than round 2's (no round of the new run has them).
    storeCheckpoint(x2.taskId, x2.lease, 4);
    storeCheckpoint(y2.taskId, y2.lease, 3);
    scheduler.checkpointStored(x2.taskId);
    scheduler.checkpointStored(y2.taskId);
    assert.equal(store.jobs.get(job.id)!.recoveryLine, 1, 'round 2 of the abandoned run is not a line');
  });

  test('a completed rank runs again after a rollback, and a failed rank fails the job', async () => {
    const a = new MemoryLink();
    const b = new MemoryLink();
    scheduler.connect(hello('volunteer-fa', 1), a);
    scheduler.connect(hello('volunteer-fb', 1), b);
    const job = jobs.create({ program: 'empty', ranks: 2 });
    await waitFor(() => a.assigned.length + b.assigned.length === 2);
    const [x] = a.assigned;
    scheduler.finish(a, x!.taskId, x!.lease, { state: 'completed', exitCode: 0 });
    assert.equal(store.jobs.get(job.id)!.tasksDone, 1);
    scheduler.disconnect(b, 'test');
    assert.equal(store.jobs.get(job.id)!.tasksDone, 0);
    assert.deepEqual(store.tasks.forJob(job.id).map((t) => t.state), ['queued', 'queued']);
    const c = new MemoryLink();
    scheduler.connect(hello('volunteer-fc', 1), c);
    await waitFor(() => a.assigned.length === 2 && c.assigned.length === 1);
    const again = a.assigned[1]!;
    scheduler.finish(a, again.taskId, again.lease, { state: 'failed', exitCode: 3 });
    assert.equal(store.jobs.get(job.id)!.state, 'failed');
    assert.ok(c.cancelled.includes(c.assigned[0]!.taskId));
  });
});

describe('redundancy', () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  /** The volunteer behind `link` ends its task with `text` on stdout. */
  const answer = (link: MemoryLink, task: TaskAssignment, text: string) => {
    scheduler.output(link, task.taskId, task.lease, 'stdout', encode(text));
    scheduler.finish(link, task.taskId, task.lease, { state: 'completed', exitCode: 0 });
  };
  const ofIndex = (link: MemoryLink, index: number) => link.assigned.find((t) => t.index === index)!;

  test('each index runs on k different volunteers; two agreeing replicas decide, the third is cancelled, a dissenter is outvoted', async () => {
    const greedy = new MemoryLink();
    const b = new MemoryLink();
    const c = new MemoryLink();
    scheduler.connect(hello('greedy', 10), greedy);
    scheduler.connect(hello('honest-b', 2), b);
    scheduler.connect(hello('honest-c', 2), c);
    const job = jobs.create({ program: 'empty', tasks: [{ args: ['0'] }, { args: ['1'] }], redundancy: 3 });
    assert.equal(job.tasksTotal, 2);
    await waitFor(() => greedy.assigned.length + b.assigned.length + c.assigned.length === 6);
    for (const link of [greedy, b, c]) assert.deepEqual(link.assigned.map((t) => t.index).sort(), [0, 1], 'one replica of each index per volunteer');

    answer(greedy, ofIndex(greedy, 0), 'wrong');
    answer(b, ofIndex(b, 0), 'right');
    assert.equal(store.jobs.get(job.id)!.tasksDone, 0, 'one against one decides nothing');
    answer(c, ofIndex(c, 0), 'right');
    // Index 1: two honest replicas agree before the greedy one answers; its replica is cancelled.
    answer(b, ofIndex(b, 1), 'right');
    answer(c, ofIndex(c, 1), 'right');
    assert.deepEqual(greedy.cancelled, [ofIndex(greedy, 1).taskId]);
    assert.throws(() => answer(greedy, ofIndex(greedy, 1), 'wrong'), /StaleLease/);

    const done = store.jobs.get(job.id)!;
    assert.equal(done.state, 'completed');
    assert.equal(done.tasksDone, 2);
    const verdicts = store.tasks.forJob(job.id).map((t) => `${t.index}.${t.replica}:${t.state}:${t.verdict ?? '-'}`);
    assert.deepEqual(verdicts, ['0.0:completed:outvoted', '0.1:completed:accepted', '0.2:completed:agreed', '1.0:cancelled:-', '1.1:completed:accepted', '1.2:completed:agreed']);
    assert.equal(store.volunteers.list().find((v) => v.id === 'greedy')!.outvoted, 1);
    assert.equal(store.volunteers.list().find((v) => v.id === 'honest-b')!.outvoted, 0);
  });

  test('replicas that disagree bring more replicas, on volunteers that ran none of the index, until the index fails at the limit', async () => {
    const links = Array.from({ length: 6 }, () => new MemoryLink());
    links.forEach((link, i) => scheduler.connect(hello(`v${i}`, 2), link));
    const job = jobs.create({ program: 'empty', redundancy: 2 });
    const answered = new Set<MemoryLink>();
    for (let replicas = 2; replicas <= maxReplicas(2); replicas++) {
      await waitFor(() => links.reduce((n, l) => n + l.assigned.length, 0) === replicas, 2_000, `${replicas} replicas given out`);
      for (const link of links.filter((l) => l.assigned.length > 0 && !answered.has(l))) {
        answered.add(link);
        answer(link, link.assigned[0]!, `answer ${links.indexOf(link)}`);
      }
    }
    for (const link of links) assert.ok(link.assigned.length <= 1, 'no volunteer ran two replicas of the index');
    assert.equal(store.tasks.forJob(job.id).length, maxReplicas(2));
    const failed = store.jobs.get(job.id)!;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.tasksDone, 1);
    assert.equal(failed.tasksFailed, 1);
    assert.deepEqual(new Set(store.tasks.forJob(job.id).map((t) => t.verdict)), new Set(['undecided']));
  });

  test('a replica lost with its volunteer goes back to the queue and to another volunteer, never to one that ran another replica', async () => {
    const a = new MemoryLink();
    const b = new MemoryLink();
    const c = new MemoryLink();
    scheduler.connect(hello('a', 1), a);
    scheduler.connect(hello('b', 1), b);
    const job = jobs.create({ program: 'empty', redundancy: 2 });
    await waitFor(() => a.assigned.length + b.assigned.length === 2);
    answer(a, a.assigned[0]!, 'same');
    scheduler.disconnect(b, 'gone');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.assigned.length, 1, 'a has a free slot but already ran replica 0');
    scheduler.connect(hello('c', 1), c);
    await waitFor(() => c.assigned.length === 1);
    answer(c, c.assigned[0]!, 'same');
    assert.equal(store.jobs.get(job.id)!.state, 'completed');
  });
});
