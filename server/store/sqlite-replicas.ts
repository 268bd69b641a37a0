/** Replicas of a task index and who ran them (store.ts ReplicaStore). */
import type { ReplicaVerdict } from '../../shared/states.ts';
import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';
import { taskId } from './records.ts';
import type { TaskRecord } from './records.ts';
import type { ReplicaStore } from './store.ts';
import { taskFromRow } from './sqlite-tasks.ts';
import type { TaskRow } from './sqlite-tasks.ts';

export function sqliteReplicas(db: Db, commit: GroupCommit): ReplicaStore {
  const of = db.prepare<[string, number], TaskRow>('SELECT * FROM tasks WHERE job_id = ? AND idx = ? ORDER BY replica');
  const get = db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE id = ?');
  // A copy of replica 0 as it was queued: same args and seed, nothing of its run.
  const add = db.prepare(`
    INSERT INTO tasks (id, job_id, job_seq, idx, replica, priority, args, seed, state)
      SELECT @id, job_id, job_seq, idx, @replica, priority, args, seed,
             (CASE WHEN (SELECT j.state FROM jobs j WHERE j.id = tasks.job_id) = 'preempted' THEN 'preempted' ELSE 'queued' END)
      FROM tasks WHERE job_id = @jobId AND idx = @index AND replica = 0`);
  const nextReplica = db.prepare<[string, number], { next: number }>(
    'SELECT coalesce(max(replica), -1) + 1 AS next FROM tasks WHERE job_id = ? AND idx = ?',
  );
  const setHash = db.prepare('UPDATE tasks SET output_hash = ? WHERE id = ?');
  const setVerdict = db.prepare('UPDATE tasks SET verdict = ? WHERE id = ?');
  const ranBy = db.prepare<[string, number, string], { task_id: string }>(
    'SELECT task_id FROM replica_runs WHERE job_id = ? AND idx = ? AND volunteer_id = ?',
  );
  const recordRun = db.prepare('INSERT OR IGNORE INTO replica_runs (job_id, idx, volunteer_id, task_id) VALUES (?, ?, ?, ?)');

  return {
    of: (jobId, index) => of.all(jobId, index).map(taskFromRow),
    add: (jobId, index) =>
      commit.write(() => {
        const { next } = nextReplica.get(jobId, index)!;
        const id = taskId(jobId, index, next);
        if (add.run({ id, replica: next, jobId, index }).changes !== 1) throw new Error(`job ${jobId} has no task ${index}`);
        return taskFromRow(get.get(id)!);
      }),
    setHash: (id, hash) => commit.write(() => setHash.run(hash, id)),
    setVerdict: (id, verdict: ReplicaVerdict) => commit.write(() => setVerdict.run(verdict, id)),
    mayRun: (task: TaskRecord, volunteerId) => {
      const ran = ranBy.get(task.jobId, task.index, volunteerId);
      return ran === undefined || ran.task_id === task.id;
    },
    recordRun: (task, volunteerId) => commit.write(() => recordRun.run(task.jobId, task.index, volunteerId, task.id)),
  };
}
