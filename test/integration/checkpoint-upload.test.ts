/**
 * Checkpoints through the coordinator, with scripted volunteers speaking the
 * real protocol: an upload is checked (hashes, manifest fields, its parent
 * and segments present, the lease), a migrated task goes to the other
 * volunteer with the chain to resume from and its output cut at the
 * checkpoint, and a task lost after an upload resumes from it too.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, afterEach, before, test } from 'node:test';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
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
afterEach(() => volunteers.splice(0).forEach((v) => v.close()));
after(() => grid.close());

async function volunteer(): Promise<ScriptedVolunteer> {
  const v = new ScriptedVolunteer(grid.coordinator.url);
  volunteers.push(v);
  await v.start();
  return v;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** A manifest's digest as the coordinator records it on upload, computed here independently of its code. */
const digestOf = (m: CheckpointManifest) =>
  sha256(new TextEncoder().encode(JSON.stringify([m.taskId, m.seq, m.createdAt, m.memoryPages, m.pageSize])));

/** One checkpoint of two 4 KiB pages in one segment, counting `stdout` bytes of output. */
function checkpoint(taskId: string, seq: number, parent: number | null, stdout: number): { manifest: CheckpointManifest; segment: Uint8Array } {
  const segment = new Uint8Array(randomBytes(8192));
  const manifest: CheckpointManifest = {
    format: 1,
    taskId,
    seq,
    parent,
    pageSize: 4096,
    memoryPages: 2,
    extents: [{ first: 0, count: 2, segment: 0, offset: 0 }],
    segments: [{ hash: sha256(segment), bytes: segment.byteLength }],
    state: { program: { runtime: 'test' }, output: { stdout, stderr: 0 } },
    dirtyBytes: 8192,
    storedBytes: 8192,
    createdAt: Date.now(),
  };
  return { manifest, segment };
}

const rejects = (call: Promise<unknown>, pattern: RegExp) => assert.rejects(call, pattern);

test('a migration uploads a checked checkpoint, cuts the output there, and resumes the task on the other volunteer', async () => {
  const [a, b] = [await volunteer(), await volunteer()];
  const { id } = await grid.api.postJob({ program: 'empty' });
  await waitFor(() => a.tasks.size + b.tasks.size === 1);
  const [holder, other] = a.tasks.size === 1 ? [a, b] : [b, a];
  const task = [...holder.tasks.values()][0]!;
  const asked: string[] = [];
  holder.socket.on('task:halt', ({ taskId, reason }) => reason === 'migrate' && asked.push(taskId));
  const { taskId, lease } = task;

  holder.output(task, 'before\n');
  const { manifest, segment } = checkpoint(taskId, 1, null, 'before\n'.length);
  const hash = manifest.segments[0]!.hash;
  await grid.api.ok('POST', `/api/jobs/${id}/tasks/0/migrate`, undefined, 202);
  await waitFor(() => asked.includes(taskId));

  // What the coordinator refuses, and why.
  await rejects(holder.request('checkpoint:segment', { taskId, lease, hash, data: randomBytes(8192) }), /ValidationError: segment .* hash to/);
  await rejects(holder.request('checkpoint:manifest', { taskId, lease, manifest }), /Conflict: .*names segment .* not uploaded/);
  await rejects(holder.request('checkpoint:segment', { taskId, lease: 'not-the-lease', hash, data: segment }), /StaleLease/);
  await rejects(holder.request('checkpoint:segment', { taskId, lease, hash: 'abc', data: segment }), /ValidationError: .*hash/);
  assert.deepEqual(await holder.request('checkpoint:missing', { taskId, lease, hashes: [hash] }), { missing: [hash] });
  await holder.request('checkpoint:segment', { taskId, lease, hash, data: segment });
  assert.deepEqual(await holder.request('checkpoint:missing', { taskId, lease, hashes: [hash] }), { missing: [] });
  await rejects(holder.request('checkpoint:manifest', { taskId, lease, manifest: { ...manifest, taskId: `${id}.9` } }), /ValidationError: manifest.taskId/);
  await rejects(holder.request('checkpoint:manifest', { taskId, lease, manifest: { ...manifest, seq: 3, parent: 2 } }), /Conflict: checkpoint 3 builds on 2/);
  await rejects(holder.request('checkpoint:manifest', { taskId, lease, manifest: { ...manifest, dirtyBytes: 1 } }), /ValidationError: manifest: dirtyBytes/);
  await rejects(holder.request('task:halted', { taskId, lease, seq: 1 }), /Conflict: .*no checkpoint 1/);
  await holder.request('checkpoint:manifest', { taskId, lease, manifest });
  assert.equal((await grid.api.job(id)).tasks[0]!.checkpoints, 1, 'an acknowledged checkpoint counts');

  // Printed after the checkpoint by the run that halts: must not survive.
  holder.output(task, 'after the checkpoint\n');
  await holder.request('task:halted', { taskId, lease, seq: 1 });
  const [moved] = await other.waitForTasks(1);
  assert.equal(moved!.taskId, taskId);
  assert.equal(holder.tasks.size, 1, 'the holder was never given it back');
  assert.deepEqual(moved!.resume, { seq: 1, chain: [manifest], digest: digestOf(manifest) });

  const fetched = await other.request<Uint8Array>('checkpoint:fetch', { taskId, lease: moved!.lease, hash });
  assert.equal(sha256(new Uint8Array(fetched)), hash);
  await rejects(other.request('checkpoint:fetch', { taskId, lease: moved!.lease, hash: sha256(randomBytes(4)) }), /NotFound/);
  await rejects(holder.request('checkpoint:fetch', { taskId, lease, hash }), /StaleLease/);
  await rejects(other.request('task:resumed', { taskId, lease: moved!.lease, seq: 2, from: 'coordinator' }), /Conflict/);
  await other.request('task:resumed', { taskId, lease: moved!.lease, seq: 1, from: 'coordinator' });
  other.output(moved!, 'rest\n');
  await other.finish(moved!);

  const done = await grid.api.waitForState(id, 'completed');
  assert.equal((await grid.api.output(id)).tasks[0]!.stdout, 'before\nrest\n');
  const view = done.tasks[0]!;
  assert.equal(view.volunteer, other.volunteerId);
  assert.equal(view.restarts, 0);
  assert.deepEqual(view.resumes.map(({ from, seq }) => ({ from, seq })), [{ from: 'coordinator', seq: 1 }]);
  assert.equal(view.lastCheckpoint?.seq, 1);
});

test('a task lost after an acknowledged checkpoint resumes from it, not from the start', async () => {
  const a = await volunteer();
  const { id } = await grid.api.postJob({ program: 'empty' });
  const [task] = await a.waitForTasks(1);
  const { taskId, lease } = task!;
  a.output(task!, 'one\n');
  const first = checkpoint(taskId, 1, null, 4);
  await a.request('checkpoint:segment', { taskId, lease, hash: first.manifest.segments[0]!.hash, data: first.segment });
  await a.request('checkpoint:manifest', { taskId, lease, manifest: first.manifest });
  a.output(task!, 'two\n');
  const second = checkpoint(taskId, 2, 1, 8);
  await a.request('checkpoint:segment', { taskId, lease, hash: second.manifest.segments[0]!.hash, data: second.segment });
  await a.request('checkpoint:manifest', { taskId, lease, manifest: second.manifest });
  a.output(task!, 'lost\n');
  await waitFor(async () => (await grid.api.output(id)).tasks[0]!.stdout.endsWith('lost\n'), 5_000, JSON.stringify([a.protocolErrors]));
  a.close();

  const b = await volunteer();
  const [again] = await b.waitForTasks(1);
  assert.deepEqual(again!.resume, { seq: 2, chain: [first.manifest, second.manifest], digest: digestOf(second.manifest) });
  const job = await grid.api.job(id);
  assert.equal(job.tasks[0]!.restarts, 1);
  assert.equal((await grid.api.output(id)).tasks[0]!.stdout, 'one\ntwo\n', 'what the lost run printed after checkpoint 2 is gone');
  b.output(again!, 'three\n');
  await b.finish(again!);
  await grid.api.waitForState(id, 'completed');
  assert.equal((await grid.api.output(id)).tasks[0]!.stdout, 'one\ntwo\nthree\n');
});

test('a migration needs another volunteer to go to: with none connected it is a 409 and the task runs on', async () => {
  const a = await volunteer();
  const { id } = await grid.api.postJob({ program: 'empty' });
  const [task] = await a.waitForTasks(1);
  const refused = await grid.api.call<{ error: { name: string; message: string } }>('POST', `/api/jobs/${id}/tasks/0/migrate`);
  assert.equal(refused.status, 409);
  assert.match(refused.body.error.message, /no other volunteer/);
  await a.finish(task!);
  await grid.api.waitForState(id, 'completed');
});
