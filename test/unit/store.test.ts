/** The SQLite store: schema migrations, the task queue's order, output chunks, durability across reopening. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../server/store/migrations.ts';
import { openSqliteStore } from '../../server/store/sqlite-store.ts';
import type { NewJob } from '../../server/store/records.ts';

const dir = mkdtempSync(join(tmpdir(), 'grid-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PROGRAM = {
  id: 'a'.repeat(64),
  name: 'p',
  format: 'wasm' as const,
  size: 10,
  builtin: false,
  runnable: 'b'.repeat(64),
  memory: { initial: 1, maximum: 16 },
  createdAt: new Date().toISOString(),
};

function job(id: string, priority: number, tasks: number): [NewJob, { id: string; index: number; args: string[]; seed: number }[]] {
  return [
    {
      id,
      name: id,
      programId: PROGRAM.id,
      args: [],
      env: {},
      ranks: 1,
      coupled: false,
      priority,
      checkpointIntervalMs: 5000,
      pageSize: 4096,
      redundancy: 1,
      state: 'queued',
      tasksTotal: tasks,
      createdAt: new Date().toISOString(),
    },
    Array.from({ length: tasks }, (_, index) => ({ id: `${id}.${index}`, index, args: [String(index)], seed: index })),
  ];
}

test('a new database is migrated to the newest schema in WAL mode with synchronous=FULL; reopening changes nothing', () => {
  const file = join(dir, 'schema.db');
  openSqliteStore(file).close();
  const store = openSqliteStore(file);
  store.close();
  const db = new Database(file);
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)!.version);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
  const check = openSqliteStore(file);
  check.close();
});

test('a database from a newer coordinator is refused', () => {
  const file = join(dir, 'newer.db');
  const db = new Database(file);
  db.pragma('user_version = 999');
  db.close();
  assert.throws(() => openSqliteStore(file), /newer than this coordinator/);
});

test('the queue serves the highest priority first, then the oldest job, then task order', async () => {
  const store = openSqliteStore(join(dir, 'queue.db'));
  store.programs.put(PROGRAM);
  store.jobs.insert(...job('old-low', 0, 2));
  store.jobs.insert(...job('new-high', 5, 2));
  store.jobs.insert(...job('new-low', 0, 1));
  assert.deepEqual(
    store.tasks.nextQueued(10).map((t) => t.id),
    ['new-high.0', 'new-high.1', 'old-low.0', 'old-low.1', 'new-low.0'],
  );
  store.tasks.assign('new-high.0', 'v1', 'lease-1', new Date().toISOString());
  assert.throws(() => store.tasks.assign('new-high.0', 'v2', 'lease-2', new Date().toISOString()), /not queued/);
  assert.equal(store.tasks.nextQueued(1)[0]!.id, 'new-high.1');
  await store.commit.durable();
  store.close();
});

test('output is appended in chunks, read back whole, and cleared when the task starts over', async () => {
  const file = join(dir, 'output.db');
  const store = openSqliteStore(file);
  store.programs.put(PROGRAM);
  store.jobs.insert(...job('j', 0, 1));
  const text = new TextEncoder();
  store.tasks.appendOutput('j.0', 'stdout', text.encode('hello '));
  store.tasks.appendOutput('j.0', 'stdout', text.encode('world\n'));
  store.tasks.appendOutput('j.0', 'stderr', text.encode('warn\n'));
  assert.equal(new TextDecoder().decode(store.tasks.output('j.0', 'stdout')), 'hello world\n');
  assert.deepEqual(store.tasks.get('j.0')!.outputBytes, { stdout: 12, stderr: 5 });
  await store.commit.durable();
  store.close();

  const reopened = openSqliteStore(file);
  assert.equal(new TextDecoder().decode(reopened.tasks.output('j.0', 'stdout')), 'hello world\n', 'durable');
  reopened.tasks.assign('j.0', 'v', 'l', new Date().toISOString());
  reopened.tasks.requeue('j.0', true);
  const task = reopened.tasks.get('j.0')!;
  assert.equal(task.restarts, 1);
  assert.equal(task.state, 'queued');
  assert.equal(reopened.tasks.output('j.0', 'stdout').byteLength, 0);
  assert.deepEqual(task.outputBytes, { stdout: 0, stderr: 0 });
  await reopened.commit.durable();
  reopened.close();
});

test('a task requeued from a checkpoint keeps its output up to the checkpoint, cut inside a chunk if need be, and counts on from there', async () => {
  const store = openSqliteStore(join(dir, 'cut.db'));
  store.programs.put(PROGRAM);
  store.jobs.insert(...job('c', 0, 1));
  const text = new TextEncoder();
  const stdout = () => new TextDecoder().decode(store.tasks.output('c.0', 'stdout'));
  store.tasks.assign('c.0', 'v1', 'l1', new Date().toISOString());
  store.tasks.appendOutput('c.0', 'stdout', text.encode('one\n'));
  store.tasks.appendOutput('c.0', 'stdout', text.encode('two\nlost\n')); // the checkpoint was taken after "two\n"
  store.tasks.appendOutput('c.0', 'stdout', text.encode('more lost\n'));
  store.tasks.appendOutput('c.0', 'stderr', text.encode('e\n'));
  store.tasks.requeueFrom('c.0', 3, { stdout: 8, stderr: 0 }, { lost: false, avoid: 'v1' });
  const task = store.tasks.get('c.0')!;
  assert.equal(stdout(), 'one\ntwo\n');
  assert.equal(store.tasks.output('c.0', 'stderr').byteLength, 0);
  assert.deepEqual(task.outputBytes, { stdout: 8, stderr: 0 });
  assert.equal(task.state, 'queued');
  assert.equal(task.resumeSeq, 3);
  assert.equal(task.avoidVolunteer, 'v1');
  assert.equal(task.restarts, 0, 'a halt is not a restart');
  store.tasks.assign('c.0', 'v2', 'l2', new Date().toISOString());
  store.tasks.appendOutput('c.0', 'stdout', text.encode('three\n'));
  assert.equal(stdout(), 'one\ntwo\nthree\n');
  store.tasks.requeue('c.0', true);
  assert.equal(store.tasks.get('c.0')!.resumeSeq, undefined, 'starting over forgets the checkpoint');
  await store.commit.durable();
  store.close();
});

test('finishing tasks counts them on the job, and progress averages finished tasks as 1', async () => {
  const store = openSqliteStore(join(dir, 'finish.db'));
  store.programs.put(PROGRAM);
  store.jobs.insert(...job('f', 0, 4));
  const at = new Date().toISOString();
  store.tasks.assign('f.0', 'v', 'l0', at);
  store.tasks.finish('f.0', { state: 'completed', exitCode: 0, result: { x: [1, 2] }, at });
  store.tasks.assign('f.1', 'v', 'l1', at);
  store.tasks.setProgress('f.1', 0.5);
  assert.equal(store.jobs.countFinished('f', false).tasksDone, 1);
  assert.equal(store.jobs.progress(['f']).get('f'), (1 + 0.5) / 4);
  assert.deepEqual(store.tasks.get('f.0')!.result, { x: [1, 2] });
  assert.equal(store.tasks.get('f.0')!.lease, undefined, 'the lease ends with the task');
  await store.commit.durable();
  store.close();
});
