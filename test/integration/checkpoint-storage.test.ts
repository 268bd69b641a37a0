/**
 * Storage hygiene through a real coordinator (issue 5), with scripted
 * volunteers speaking the real protocol: a long chain of uploads is compacted
 * into a base behind the uploads' backs, and a task lost afterwards resumes
 * from that base on another volunteer with the same memory, byte for byte;
 * the sweep runs at start-up and every `sweepIntervalMs`, deleting old blobs
 * nothing names and, once the job is finished, its checkpoints.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCoordinator } from '../../server/coordinator.ts';
import type { Coordinator } from '../../server/coordinator.ts';
import { ApiClient } from '../helpers/api-client.ts';
import { randomChain, restoreLiterally, sha256 } from '../helpers/checkpoint-chains.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import { TEST_TOKEN } from '../helpers/test-coordinator.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';
import { waitFor } from '../helpers/wait-for.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'grid-storage-'));
const orphan = new TextEncoder().encode('left over from an earlier run');
const orphanPath = join(dataDir, 'blobs', sha256(orphan).slice(0, 2), sha256(orphan));
let coordinator: Coordinator;
let api: ApiClient;
const volunteers: ScriptedVolunteer[] = [];

before(async () => {
  mkdirSync(join(orphanPath, '..'), { recursive: true });
  writeFileSync(orphanPath, orphan);
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(orphanPath, old, old);
  // Finished jobs' checkpoints go at the next sweep; blobs keep the default 10-minute grace.
  coordinator = await startCoordinator({ port: 0, dataDir, token: TEST_TOKEN, instrumentBuiltins: false, checkpointGraceMs: 0, sweepIntervalMs: 100 });
  api = new ApiClient(coordinator.url, TEST_TOKEN);
  await api.postProgram(emptyCommand(), 'wasm', 'empty');
});
after(async () => {
  volunteers.forEach((v) => v.close());
  await coordinator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function volunteer(): Promise<ScriptedVolunteer> {
  const v = new ScriptedVolunteer(coordinator.url);
  volunteers.push(v);
  await v.start();
  return v;
}

test('the start-up sweep deletes an old blob nothing names', async () => {
  await waitFor(() => !existsSync(orphanPath), 5_000, 'the orphan to be swept');
});

test('a long chain is compacted on the coordinator; a task lost after it resumes from the base with the same memory; once the job is done its checkpoints go', async () => {
  const a = await volunteer();
  const { id } = await api.postJob({ program: 'empty' });
  const [task] = await a.waitForTasks(1);
  const { taskId, lease } = task!;
  const chain = randomChain(taskId, { pages: [96, 96, 112, 128] });
  for (const { manifest, segments } of chain) {
    for (const [i, data] of segments.entries()) await a.request('checkpoint:segment', { taskId, lease, hash: manifest.segments[i]!.hash, data });
    await a.request('checkpoint:manifest', { taskId, lease, manifest });
  }
  await waitFor(async () => (await api.job(id)).tasks[0]!.checkpoints === 1, 10_000, 'the chain to be compacted into one base');
  assert.equal((await api.job(id)).tasks[0]!.lastCheckpoint?.seq, 4);

  a.close();
  const b = await volunteer();
  const [moved] = await b.waitForTasks(1);
  const resume = moved!.resume!;
  assert.equal(resume.seq, 4);
  assert.equal(resume.chain.length, 1);
  assert.equal(resume.chain[0]!.parent, null);
  const fetched = new Map<string, Uint8Array>();
  for (const { hash } of resume.chain[0]!.segments) {
    fetched.set(hash, new Uint8Array(await b.request<Uint8Array>('checkpoint:fetch', { taskId, lease: moved!.lease, hash })));
  }
  assert.deepEqual(restoreLiterally(resume.chain, (hash) => fetched.get(hash)), chain[3]!.memory, 'the base is the memory of checkpoint 4');
  await b.request('task:resumed', { taskId, lease: moved!.lease, seq: 4, from: 'coordinator' });
  await b.finish(moved!);
  await api.waitForState(id, 'completed');
  await waitFor(async () => (await api.job(id)).tasks[0]!.checkpoints === 0, 5_000, "the finished job's checkpoints to be swept");
  for (const { hash } of resume.chain[0]!.segments) {
    assert.ok(existsSync(join(dataDir, 'blobs', hash.slice(0, 2), hash)), 'its segments wait out the blob grace');
  }
});
