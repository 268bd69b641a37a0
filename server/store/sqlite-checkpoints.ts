/**
 * Checkpoints committed on the coordinator, and the resumes of each task. A
 * manifest is stored only after checkpoint-service.ts validated it and found
 * every segment it names in the blob store, so a row here always restores.
 */
import { GridError } from '../../shared/errors.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { ResumeRecord } from '../../shared/http-api.ts';
import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';
import type { CheckpointStore, CheckpointSummary } from './store.ts';

interface SummaryRow {
  taskId: string;
  count: number;
  seq: number;
  bytes: number;
  at: string;
}

export function sqliteCheckpoints(db: Db, commit: GroupCommit): CheckpointStore {
  // The lease is checked in the statement that stores the manifest: a checkpoint lands only while its uploader holds the task.
  const put = db.prepare(`
    INSERT OR REPLACE INTO checkpoints (task_id, seq, parent, manifest, stored_bytes, at, digest)
    SELECT @taskId, @seq, @parent, @manifest, @storedBytes, @at, @digest
    WHERE EXISTS (SELECT 1 FROM tasks WHERE id = @taskId AND lease = @lease AND state = 'running')`);
  const digest = db.prepare<[string, number], { digest: string | null }>('SELECT digest FROM checkpoints WHERE task_id = ? AND seq = ?');
  const get = db.prepare<[string, number], { manifest: string }>('SELECT manifest FROM checkpoints WHERE task_id = ? AND seq = ?');
  const newest = db.prepare<[string], { manifest: string }>('SELECT manifest FROM checkpoints WHERE task_id = ? ORDER BY seq DESC LIMIT 1');
  // The newest checkpoint's row gives seq, bytes and at; count(*) OVER the task counts them all.
  const summaries = db.prepare<[string], SummaryRow>(`
    SELECT taskId, count, seq, bytes, at FROM (
      SELECT c.task_id AS taskId, count(*) OVER (PARTITION BY c.task_id) AS count, c.seq, c.stored_bytes AS bytes, c.at,
        row_number() OVER (PARTITION BY c.task_id ORDER BY c.seq DESC) AS r
      FROM checkpoints c JOIN tasks t ON t.id = c.task_id WHERE t.job_id = ?)
    WHERE r = 1`);
  const deleteTask = db.prepare('DELETE FROM checkpoints WHERE task_id = ?');
  const deleteAfter = db.prepare('DELETE FROM checkpoints WHERE task_id = ? AND seq > ?');
  const addResume = db.prepare(`
    INSERT INTO task_resumes (task_id, n, seq, source, at)
    VALUES (@taskId, (SELECT count(*) FROM task_resumes WHERE task_id = @taskId), @seq, @from, @at)`);
  const resumesOfJob = db.prepare<[string], ResumeRecord & { taskId: string }>(`
    SELECT r.task_id AS taskId, r.source AS "from", r.seq, r.at
    FROM task_resumes r JOIN tasks t ON t.id = r.task_id WHERE t.job_id = ? ORDER BY r.task_id, r.n`);
  // Compaction's conditions (store.ts replaceByBase): the row is the task's newest, above its resume point, and the task runs.
  const compactable = db.prepare<{ taskId: string; seq: number }, { manifest: string }>(`
    SELECT c.manifest FROM checkpoints c JOIN tasks t ON t.id = c.task_id
    WHERE c.task_id = @taskId AND c.seq = @seq AND t.state = 'running' AND coalesce(t.resume_seq, 0) < @seq
      AND NOT EXISTS (SELECT 1 FROM checkpoints n WHERE n.task_id = @taskId AND n.seq > @seq)`);
  // digest and at stay: they say which upload this seq is, and compaction does not change the memory it describes.
  const replaceManifest = db.prepare('UPDATE checkpoints SET parent = NULL, manifest = @manifest, stored_bytes = @storedBytes WHERE task_id = @taskId AND seq = @seq');
  const deleteBelow = db.prepare('DELETE FROM checkpoints WHERE task_id = ? AND seq < ?');
  const blobInUse = db.prepare<{ hash: string }, { used: number }>(`
    SELECT EXISTS (SELECT 1 FROM checkpoint_segments WHERE hash = @hash)
      OR EXISTS (SELECT 1 FROM programs WHERE id = @hash OR runnable = @hash)
      OR EXISTS (SELECT 1 FROM instrumented WHERE blob = @hash) AS used`);
  const finishedTasks = db.prepare<[string, number], { id: string }>(`
    SELECT t.id FROM jobs j JOIN tasks t ON t.job_id = j.id
    WHERE j.state IN ('completed', 'failed', 'cancelled') AND j.finished_at < ?
      AND EXISTS (SELECT 1 FROM checkpoints c WHERE c.task_id = t.id)
    LIMIT ?`);
  const parse = (row: { manifest: string } | undefined) => row && (JSON.parse(row.manifest) as CheckpointManifest);

  return {
    put: (manifest, { at, digest, lease }) =>
      commit.write(() => {
        const { taskId, seq, parent, storedBytes } = manifest;
        const { changes } = put.run({ taskId, seq, parent, manifest: JSON.stringify(manifest), storedBytes, at, digest, lease });
        if (changes === 0) throw new GridError('StaleLease', `task ${taskId}: lease ${lease} no longer holds it; checkpoint ${seq} refused`);
      }),
    digest: (taskId, seq) => digest.get(taskId, seq)?.digest ?? undefined,
    get: (taskId, seq) => parse(get.get(taskId, seq)),
    newest: (taskId) => parse(newest.get(taskId)),
    chain: (taskId, seq) => {
      const chain: CheckpointManifest[] = [];
      for (let manifest = parse(get.get(taskId, seq)); manifest; manifest = manifest.parent === null ? undefined : parse(get.get(taskId, manifest.parent))) {
        chain.push(manifest);
        if (manifest.parent === null) return chain.reverse();
      }
      return []; // a link is missing: no chain restores
    },
    deleteTask: (taskId) => commit.write(() => deleteTask.run(taskId)),
    deleteAfter: (taskId, seq) => commit.write(() => deleteAfter.run(taskId, seq)),
    summariesOfJob: (jobId) => {
      const byTask = new Map<string, CheckpointSummary>();
      for (const { taskId, count, seq, bytes, at } of summaries.all(jobId)) byTask.set(taskId, { count, last: { seq, bytes, at } });
      return byTask;
    },
    recordResume: (taskId, resume) => commit.write(() => addResume.run({ taskId, ...resume })),
    resumesOfJob: (jobId) => {
      const byTask = new Map<string, ResumeRecord[]>();
      for (const { taskId, ...resume } of resumesOfJob.all(jobId)) byTask.set(taskId, [...(byTask.get(taskId) ?? []), resume]);
      return byTask;
    },
    replaceByBase: (base, replaced) =>
      commit.write(() => {
        const { taskId, seq, storedBytes } = base;
        if (base.parent !== null || replaced.taskId !== taskId || replaced.seq !== seq) throw new Error('replaceByBase: expected a base for the same task and seq');
        if (compactable.get({ taskId, seq })?.manifest !== JSON.stringify(replaced)) return false;
        replaceManifest.run({ taskId, seq, manifest: JSON.stringify(base), storedBytes });
        deleteBelow.run(taskId, seq);
        return true;
      }),
    blobInUse: (hash) => blobInUse.get({ hash })!.used === 1,
    deleteOfJobsFinishedBefore: (before, limit) =>
      commit.write(() => {
        const tasks = finishedTasks.all(before, limit);
        for (const { id } of tasks) deleteTask.run(id);
        return tasks.length;
      }),
  };
}
