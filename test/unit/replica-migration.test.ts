/** Schema version 8 rebuilds the tasks table (replicas): a database written by version 7 keeps every task, its output and checkpoints. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../server/store/migrations.ts';
import { openSqliteStore } from '../../server/store/sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'grid-migration-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a version 7 database migrates to replicas without losing tasks, output or checkpoints', () => {
  const file = join(dir, 'v7.db');
  const old = new Database(file);
  old.pragma('foreign_keys = ON');
  for (const m of MIGRATIONS.filter((m) => m.version <= 7)) old.exec(m.sql);
  old.pragma('user_version = 7');
  old.exec(`
    INSERT INTO programs (id, name, format, size, runnable, memory_initial, memory_maximum, created_at)
      VALUES ('p', 'prog', 'wasm', 1, 'p', 1, 1, 'now');
    INSERT INTO jobs (id, name, program_id, args, env, ranks, coupled, priority, checkpoint_interval_ms, page_size, redundancy, state, tasks_total, created_at)
      VALUES ('j', 'job', 'p', '[]', '{}', 1, 0, 0, 5000, 4096, 1, 'running', 2, 'now');
    INSERT INTO tasks (id, job_id, job_seq, idx, priority, args, seed, state, volunteer_id, lease, stdout_bytes, resume_seq)
      VALUES ('j.0', 'j', 1, 0, 0, '["a"]', 7, 'running', 'v', 'lease-0', 3, 1),
             ('j.1', 'j', 1, 1, 0, '["b"]', 8, 'queued', NULL, NULL, 0, NULL);
    INSERT INTO task_output (task_id, stream, offset, data) VALUES ('j.0', 'stdout', 0, CAST('abc' AS BLOB));
    INSERT INTO checkpoints (task_id, seq, parent, manifest, stored_bytes, at) VALUES ('j.0', 1, NULL, '{"segments":[{"hash":"h"}]}', 10, 'now');
    INSERT INTO volunteers (id, name, cores, first_seen, last_seen) VALUES ('v', 'v', 2, 'now', 'now');
  `);
  old.close();

  const store = openSqliteStore(file);
  try {
    const tasks = store.tasks.forJob('j');
    assert.deepEqual(tasks.map((t) => [t.id, t.index, t.replica, t.state, t.lease, t.resumeSeq]), [
      ['j.0', 0, 0, 'running', 'lease-0', 1],
      ['j.1', 1, 0, 'queued', undefined, undefined],
    ]);
    assert.equal(new TextDecoder().decode(store.tasks.output('j.0', 'stdout')), 'abc');
    assert.equal(store.checkpoints.summariesOfJob('j').get('j.0')?.count, 1);
    assert.ok(store.checkpoints.blobInUse('h'), 'the segment index survives');
    assert.deepEqual(store.volunteers.list().map((v) => [v.id, v.outvoted]), [['v', 0]]);
    // The index is no longer unique per job: a second replica of task 0 can be queued.
    const added = store.replicas.add('j', 0);
    assert.deepEqual([added.id, added.index, added.replica, added.state, added.args], ['j.0.r1', 0, 1, 'queued', ['a']]);
  } finally {
    store.close();
  }
  const check = new Database(file);
  assert.deepEqual(check.pragma('foreign_key_check'), []);
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  check.close();
});
