import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';
import type { JobRecord } from './records.ts';
import type { JobStore } from './store.ts';

interface JobRow {
  seq: number;
  id: string;
  name: string;
  program_id: string;
  args: string;
  env: string;
  ranks: number;
  coupled: number;
  priority: number;
  checkpoint_interval_ms: number;
  page_size: number;
  redundancy: number;
  state: JobRecord['state'];
  tasks_total: number;
  tasks_done: number;
  tasks_failed: number;
  created_at: string;
  finished_at: string | null;
  recovery_line: number | null;
  rollbacks: number;
  messages_sent: number;
  messages_resent: number;
  messages_discarded: number;
}

function fromRow(row: JobRow): JobRecord {
  return {
    seq: row.seq,
    id: row.id,
    name: row.name,
    programId: row.program_id,
    args: JSON.parse(row.args) as string[],
    env: JSON.parse(row.env) as Record<string, string>,
    ranks: row.ranks,
    coupled: row.coupled === 1,
    priority: row.priority,
    checkpointIntervalMs: row.checkpoint_interval_ms,
    pageSize: row.page_size,
    redundancy: row.redundancy,
    state: row.state,
    tasksTotal: row.tasks_total,
    tasksDone: row.tasks_done,
    tasksFailed: row.tasks_failed,
    createdAt: row.created_at,
    ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
    ...(row.recovery_line !== null ? { recoveryLine: row.recovery_line } : {}),
    rollbacks: row.rollbacks,
    messages: { sent: row.messages_sent, resent: row.messages_resent, discarded: row.messages_discarded },
  };
}

export function sqliteJobs(db: Db, commit: GroupCommit): JobStore {
  const insertJob = db.prepare(`
    INSERT INTO jobs (id, name, program_id, args, env, ranks, coupled, priority, checkpoint_interval_ms,
                      page_size, redundancy, state, tasks_total, created_at)
    VALUES (@id, @name, @programId, @args, @env, @ranks, @coupled, @priority, @checkpointIntervalMs,
            @pageSize, @redundancy, @state, @tasksTotal, @createdAt)`);
  const insertTask = db.prepare(`
    INSERT INTO tasks (id, job_id, job_seq, idx, replica, priority, args, seed, state)
    VALUES (@id, @jobId, @jobSeq, @index, @replica, @priority, @args, @seed, 'queued')`);
  const get = db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ?');
  const list = db.prepare<[], JobRow>('SELECT * FROM jobs ORDER BY seq DESC');
  const setState = db.prepare('UPDATE jobs SET state = ?, finished_at = ? WHERE id = ?');
  const countFinished = db.prepare(
    'UPDATE jobs SET tasks_done = tasks_done + 1, tasks_failed = tasks_failed + ? WHERE id = ?',
  );
  const progressOne = db.prepare<[string], { job_id: string; progress: number }>(`
    SELECT job_id, avg(CASE WHEN state IN ('completed', 'failed', 'cancelled') THEN 1.0 ELSE progress END) AS progress
    FROM tasks WHERE job_id = ? GROUP BY job_id`);
  const progressAll = db.prepare<[], { job_id: string; progress: number }>(`
    SELECT job_id, avg(CASE WHEN state IN ('completed', 'failed', 'cancelled') THEN 1.0 ELSE progress END) AS progress
    FROM tasks GROUP BY job_id`);

  const getJob = (id: string) => {
    const row = get.get(id);
    return row && fromRow(row);
  };

  return {
    insert: (job, tasks) =>
      commit.write(() => {
        const { lastInsertRowid } = insertJob.run({
          ...job,
          args: JSON.stringify(job.args),
          env: JSON.stringify(job.env),
          coupled: job.coupled ? 1 : 0,
        });
        for (const t of tasks) {
          insertTask.run({
            id: t.id,
            jobId: job.id,
            jobSeq: Number(lastInsertRowid),
            index: t.index,
            replica: t.replica ?? 0,
            priority: job.priority,
            args: JSON.stringify(t.args),
            seed: t.seed,
          });
        }
      }),
    get: getJob,
    list: () => list.all().map(fromRow),
    setState: (id, state, finishedAt) => commit.write(() => setState.run(state, finishedAt ?? null, id)),
    countFinished: (id, failed) =>
      commit.write(() => {
        countFinished.run(failed ? 1 : 0, id);
        const job = getJob(id);
        if (!job) throw new Error(`job ${id} vanished`);
        return job;
      }),
    progress: (ids) => {
      const rows = ids ? ids.flatMap((id) => progressOne.all(id)) : progressAll.all();
      return new Map(rows.map((r) => [r.job_id, r.progress]));
    },
  };
}
