/**
 * The coordinator's storage sweep (issue 5), on a real SQLite store and a
 * real blob folder: blobs nothing names go once past their grace; programs,
 * instrumented modules, checkpoint segments and young blobs stay; a finished
 * job's checkpoints go only after theirs, and their segments with them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { manifestDigestInput } from '../../shared/checkpoint-format.ts';
import { CheckpointGc, checkpointGraceFromEnv } from '../../server/checkpoints/checkpoint-gc.ts';
import { CoordinatorCompaction } from '../../server/checkpoints/coordinator-compaction.ts';
import { fileBlobStore } from '../../server/store/blob-store.ts';
import { MIGRATIONS } from '../../server/store/migrations.ts';
import type { BlobStore } from '../../server/store/blob-store.ts';
import { openSqliteStore } from '../../server/store/sqlite-store.ts';
import type { Store } from '../../server/store/store.ts';
import { randomChain, restoreLiterally, sha256 } from '../helpers/checkpoint-chains.ts';
import type { ChainCheckpoint } from '../helpers/checkpoint-chains.ts';

process.env.GRID_LOG ??= 'silent';

const dir = mkdtempSync(join(tmpdir(), 'grid-gc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MINUTE = 60_000;
const GRACE = 10 * MINUTE;

interface Grid {
  store: Store;
  blobs: BlobStore;
  root: string;
  gc: CheckpointGc;
}

function grid(name: string): Grid {
  const store = openSqliteStore(join(dir, `${name}.db`));
  const root = join(dir, `${name}-blobs`);
  const blobs = fileBlobStore(root);
  return { store, blobs, root, gc: new CheckpointGc(store, blobs, { blobGraceMs: GRACE, checkpointGraceMs: GRACE }) };
}

const pathOf = (g: Grid, hash: string) => join(g.root, hash.slice(0, 2), hash);
const bytes = (text: string) => new TextEncoder().encode(text);

/** Sets the file's mtime `ms` into the past: a blob last written or used then. */
function age(path: string, ms: number): void {
  const then = new Date(Date.now() - ms);
  utimesSync(path, then, then);
}

/** A program whose posted and runnable bytes differ, with an instrumented module; one running job of `tasks` tasks. */
function program(g: Grid, jobId: string, tasks: number): { posted: string; runnable: string; instrumented: string } {
  const posted = g.blobs.put(bytes(`posted ${jobId}`));
  const runnable = g.blobs.put(bytes(`runnable ${jobId}`));
  const instrumented = g.blobs.put(bytes(`instrumented ${jobId}`));
  const at = new Date().toISOString();
  g.store.programs.put({ id: posted, name: jobId, format: 'wasm', size: 1, builtin: false, runnable, memory: { initial: 1, maximum: 16 }, createdAt: at });
  g.store.programs.recordInstrumented(posted, 'abi1.i1', instrumented);
  g.store.jobs.insert(
    { id: jobId, name: jobId, programId: posted, args: [], env: {}, ranks: 1, coupled: false, priority: 0, checkpointIntervalMs: 1000, pageSize: 4096, redundancy: 1, state: 'running', tasksTotal: tasks, createdAt: at },
    Array.from({ length: tasks }, (_, index) => ({ id: `${jobId}.${index}`, index, args: [], seed: index })),
  );
  for (let index = 0; index < tasks; index++) g.store.tasks.assign(`${jobId}.${index}`, 'v', `${jobId}-lease-${index}`, at);
  return { posted, runnable, instrumented };
}

function upload(g: Grid, lease: string, checkpoints: readonly ChainCheckpoint[]): string[] {
  const hashes: string[] = [];
  for (const { manifest, segments } of checkpoints) {
    for (const segment of segments) hashes.push(g.blobs.put(segment));
    g.store.checkpoints.put(manifest, { at: new Date().toISOString(), digest: sha256(bytes(manifestDigestInput(manifest))), lease });
  }
  return hashes;
}

/** Ages every blob file by `ms`. */
function ageAll(g: Grid, ms: number): void {
  for (const shard of readdirSync(g.root)) for (const name of readdirSync(join(g.root, shard))) age(join(g.root, shard, name), ms);
}

test('the sweep deletes old blobs nothing names, and keeps programs, instrumented modules, checkpoint segments and young blobs', async () => {
  const g = grid('blobs');
  const kept = program(g, 'job', 1);
  const segments = upload(g, 'job-lease-0', randomChain('job.0', { pages: [8, 8] }));
  const orphan = g.blobs.put(bytes('an orphan'));
  const askedAbout = g.blobs.put(bytes('a segment an uploader was told it need not send'));
  const temp = join(g.root, orphan.slice(0, 2), `.${orphan}.0badf00d.tmp`); // a write that died
  writeFileSync(temp, 'half');
  ageAll(g, GRACE + MINUTE);
  assert.equal(g.blobs.has(askedAbout), true); // `has` marks it as just used
  const young = g.blobs.put(bytes('just uploaded, its manifest not yet'));

  const report = await g.gc.sweep();
  assert.deepEqual(report, { tasks: 0, blobs: 2, bytes: 'an orphan'.length + 'half'.length });
  assert.equal(existsSync(pathOf(g, orphan)), false, 'the old orphan is gone');
  assert.equal(existsSync(temp), false, 'the dead write is gone');
  for (const hash of [kept.posted, kept.runnable, kept.instrumented, ...segments, askedAbout, young]) assert.equal(existsSync(pathOf(g, hash)), true, hash);
  assert.deepEqual(restoreLiterally(g.store.checkpoints.chain('job.0', 2), (h) => g.blobs.get(h)).byteLength, 8 * 4096);
  await g.gc.close();
  g.store.close();
});

test("a finished job's checkpoints go only after the grace, then their segments; a running job's stay", async () => {
  const g = grid('finished');
  program(g, 'done', 1);
  program(g, 'busy', 1);
  const doneSegments = upload(g, 'done-lease-0', randomChain('done.0', { pages: [8, 8] }));
  const busySegments = upload(g, 'busy-lease-0', randomChain('busy.0', { pages: [8, 8], seed: 2 }));
  const finishedAt = Date.now();
  g.store.tasks.finish('done.0', { state: 'completed', exitCode: 0, at: new Date(finishedAt).toISOString() });
  g.store.jobs.setState('done', 'completed', new Date(finishedAt).toISOString());
  ageAll(g, 2 * GRACE); // every blob is old: only references keep them

  assert.deepEqual(await g.gc.sweep(finishedAt + GRACE - 1), { tasks: 0, blobs: 0, bytes: 0 }, 'within the grace nothing goes');
  assert.equal(g.store.checkpoints.chain('done.0', 2).length, 2);

  const report = await g.gc.sweep(finishedAt + GRACE + 1);
  assert.equal(report.tasks, 1);
  assert.equal(report.blobs, doneSegments.length);
  assert.equal(g.store.checkpoints.newest('done.0'), undefined, "the finished job's checkpoints are gone");
  for (const hash of doneSegments) assert.equal(existsSync(pathOf(g, hash)), false);
  assert.equal(g.store.checkpoints.chain('busy.0', 2).length, 2, "the running job's checkpoints stay");
  for (const hash of busySegments) assert.equal(existsSync(pathOf(g, hash)), true);
  await g.gc.close();
  g.store.close();
});

test('after a compaction, the old chain goes with the sweep and the base still restores', async () => {
  const g = grid('compacted');
  program(g, 'job', 1);
  const chain = randomChain('job.0', { pages: [64, 64, 64, 64] });
  const old = upload(g, 'job-lease-0', chain);
  assert.equal((await new CoordinatorCompaction(g.store, g.blobs).compact('job.0')).outcome, 'compacted');
  const base = g.store.checkpoints.chain('job.0', 4);
  assert.equal(base.length, 1);
  const kept = new Set(base[0]!.segments.map((s) => s.hash));

  assert.equal((await g.gc.sweep()).blobs, 0, 'the old segments are young: a volunteer may still fetch them');
  ageAll(g, GRACE + MINUTE);
  const report = await g.gc.sweep();
  assert.equal(report.blobs, old.filter((hash) => !kept.has(hash)).length);
  assert.deepEqual(restoreLiterally(g.store.checkpoints.chain('job.0', 4), (h) => g.blobs.get(h)), chain.at(-1)!.memory);
  await g.gc.close();
  g.store.close();
});

test('the periodic sweep runs at start, keeps its timer from holding the process, and stops on close', async () => {
  const g = grid('timer');
  const orphan = g.blobs.put(bytes('an orphan'));
  age(pathOf(g, orphan), GRACE + MINUTE);
  const gc = new CheckpointGc(g.store, g.blobs, { blobGraceMs: GRACE, intervalMs: 20 });
  gc.start();
  const deadline = Date.now() + 5_000;
  while (existsSync(pathOf(g, orphan)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(existsSync(pathOf(g, orphan)), false, 'swept at start');
  await gc.close();
  const late = g.blobs.put(bytes('after close'));
  age(pathOf(g, late), GRACE + MINUTE);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(existsSync(pathOf(g, late)), true, 'no sweep after close');
  g.store.close();
});

test('a database from before migration 6 learns which blobs its checkpoints name', () => {
  const file = join(dir, 'v5.db');
  const db = new Database(file);
  for (const m of MIGRATIONS.filter((m) => m.version <= 5)) db.exec(m.sql);
  db.pragma('user_version = 5');
  const [{ manifest }] = randomChain('j.0', { pages: [4] });
  db.exec(`INSERT INTO programs VALUES ('p', 'p', 'wasm', 1, 0, NULL, 'p', 1, 1, 'now');
    INSERT INTO jobs (id, name, program_id, args, env, ranks, coupled, priority, checkpoint_interval_ms, page_size, redundancy, state, tasks_total, created_at)
      VALUES ('j', 'j', 'p', '[]', '{}', 1, 0, 0, 1000, 4096, 1, 'running', 1, 'now');
    INSERT INTO tasks (id, job_id, job_seq, idx, priority, args, seed, state) VALUES ('j.0', 'j', 1, 0, 0, '[]', 0, 'running')`);
  db.prepare('INSERT INTO checkpoints (task_id, seq, parent, manifest, stored_bytes, at) VALUES (?, 1, NULL, ?, ?, ?)').run('j.0', JSON.stringify(manifest), manifest.storedBytes, 'now');
  db.close();
  const store = openSqliteStore(file);
  assert.ok(manifest.segments.length > 0);
  for (const { hash } of manifest.segments) assert.equal(store.checkpoints.blobInUse(hash), true);
  assert.equal(store.checkpoints.blobInUse('f'.repeat(64)), false);
  store.checkpoints.deleteTask('j.0');
  for (const { hash } of manifest.segments) assert.equal(store.checkpoints.blobInUse(hash), false, 'a deleted checkpoint names nothing');
  store.close();
});

test('GRID_CHECKPOINT_GRACE_MS sets the finished-job grace', () => {
  assert.equal(checkpointGraceFromEnv({}), undefined);
  assert.equal(checkpointGraceFromEnv({ GRID_CHECKPOINT_GRACE_MS: '5000' }), 5000);
  assert.throws(() => checkpointGraceFromEnv({ GRID_CHECKPOINT_GRACE_MS: '10m' }), /GRID_CHECKPOINT_GRACE_MS: expected a whole number/);
});
