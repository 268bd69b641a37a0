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
  readonly migrated: string[] = [];
  migrate(taskId: string): void {
    this.migrated.push(taskId);
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

const hello = (id: string, slots: number) => ({ volunteerId: id, name: id, cores: 4, slots, leases: [] });

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
