/** CoupledStore in SQLite: rounds of coordinated checkpoints, the recovery line and the counters of coupled jobs (migration 7). */
import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';
import type { MessageCounters } from './records.ts';
import type { CoupledStore } from './store.ts';

export function sqliteCoupled(db: Db, commit: GroupCommit): CoupledStore {
  const insertRound = db.prepare('INSERT OR REPLACE INTO coupled_rounds (job_id, round, task_id, seq) VALUES (?, ?, ?, ?)');
  const lastRound = db.prepare<[string], { round: number | null }>('SELECT max(round) AS round FROM coupled_rounds WHERE job_id = ?');
  // A round is whole when each of its `ranks` checkpoints is stored (LEFT JOIN: a missing one counts as NULL).
  const wholeRound = db.prepare<[string, number, number], { round: number }>(`
    SELECT r.round FROM coupled_rounds r
    LEFT JOIN checkpoints c ON c.task_id = r.task_id AND c.seq = r.seq
    WHERE r.job_id = ? AND r.round > ?
    GROUP BY r.round HAVING count(c.seq) = count(*) AND count(*) = ?
    ORDER BY r.round DESC LIMIT 1`);
  const roundSeqs = db.prepare<[string, number], { task_id: string; seq: number }>('SELECT task_id, seq FROM coupled_rounds WHERE job_id = ? AND round = ?');
  const dropRoundsBelow = db.prepare('DELETE FROM coupled_rounds WHERE job_id = ? AND round < ?');
  const dropRoundsAfter = db.prepare('DELETE FROM coupled_rounds WHERE job_id = ? AND round > ?');
  const setLine = db.prepare('UPDATE jobs SET recovery_line = ? WHERE id = ? AND (recovery_line IS NULL OR recovery_line < ?)');
  const countRollback = db.prepare<[string], { rollbacks: number }>('UPDATE jobs SET rollbacks = rollbacks + 1 WHERE id = ? RETURNING rollbacks');
  const addMessages = db.prepare(`
    UPDATE jobs SET messages_sent = messages_sent + @sent, messages_resent = messages_resent + @resent,
      messages_discarded = messages_discarded + @discarded WHERE id = @id`);
  const reopenTask = db.prepare<[string], { job_id: string }>(`
    UPDATE tasks SET state = 'running', exit_code = NULL, result = NULL, error = NULL, finished_at = NULL
    WHERE id = ? AND state = 'completed' RETURNING job_id`);
  const uncount = db.prepare('UPDATE jobs SET tasks_done = tasks_done - 1 WHERE id = ?');

  return {
    recordRound: (jobId, round, seqs) =>
      commit.write(() => {
        for (const [taskId, seq] of seqs) insertRound.run(jobId, round, taskId, seq);
      }),
    lastRound: (jobId) => lastRound.get(jobId)?.round ?? 0,
    dropRoundsAfter: (jobId, round) => commit.write(() => dropRoundsAfter.run(jobId, round)),
    newestWholeRound: (jobId, after, ranks) => wholeRound.get(jobId, after, ranks)?.round,
    advanceLine: (jobId, round) =>
      commit.write(() => {
        setLine.run(round, jobId, round);
        // Older rounds can never be rolled back to again.
        dropRoundsBelow.run(jobId, round);
      }),
    roundSeqs: (jobId, round) => new Map(roundSeqs.all(jobId, round).map((r) => [r.task_id, r.seq])),
    countRollback: (jobId) => commit.write(() => countRollback.get(jobId)?.rollbacks ?? 0),
    addMessages: (jobId, delta: MessageCounters) => commit.write(() => addMessages.run({ id: jobId, ...delta })),
    reopen: (taskId) =>
      commit.write(() => {
        const row = reopenTask.get(taskId);
        if (row) uncount.run(row.job_id);
        return row !== undefined;
      }),
  };
}
