/** Group commit: one transaction per event-loop turn, savepoints per write, callbacks only once durable. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openDatabase } from '../../server/store/database.ts';
import { GroupCommit } from '../../server/store/group-commit.ts';

const dir = mkdtempSync(join(tmpdir(), 'grid-commit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function open(name: string) {
  const db = openDatabase(join(dir, name));
  db.exec('CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)');
  return { db, commit: new GroupCommit(db) };
}

test('writes of one turn share one transaction and are visible to the next reader only once committed', async () => {
  const { db, commit } = open('batch.db');
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  for (let i = 0; i < 100; i++) commit.write(() => insert.run(i, `v${i}`));
  assert.equal(db.inTransaction, true, 'still open within the turn');
  const reader = openDatabase(join(dir, 'batch.db'));
  assert.equal((reader.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 0, 'not committed yet');
  await commit.durable();
  assert.equal(db.inTransaction, false);
  assert.equal((reader.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 100);
  reader.close();
  commit.close();
  db.close();
});

test('a write that throws is undone alone; the rest of the batch commits', async () => {
  const { db, commit } = open('savepoint.db');
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  commit.write(() => insert.run(1, 'kept'));
  assert.throws(() =>
    commit.write(() => {
      insert.run(2, 'undone');
      throw new Error('handler failed');
    }),
  );
  assert.throws(() => commit.write(() => insert.run(1, 'duplicate key')));
  commit.write(() => insert.run(3, 'kept too'));
  await commit.durable();
  assert.deepEqual(db.prepare('SELECT k, v FROM t ORDER BY k').all(), [
    { k: 1, v: 'kept' },
    { k: 3, v: 'kept too' },
  ]);
  commit.close();
  db.close();
});

test('afterCommit runs after the commit, in order; with nothing open it runs soon anyway', async () => {
  const { db, commit } = open('order.db');
  const seen: string[] = [];
  commit.afterCommit(() => seen.push('idle'));
  commit.write(() => db.prepare('INSERT INTO t (k, v) VALUES (1, ?)').run('x'));
  commit.afterCommit(() => seen.push(`a:${db.inTransaction}`));
  commit.afterCommit(() => seen.push('b'));
  await commit.durable();
  assert.deepEqual(seen, ['idle', 'a:false', 'b']);
  commit.close();
  assert.throws(() => commit.write(() => 1), /closed/);
  db.close();
});
