import { concatBytes } from '../../shared/bytes.ts';
import type { LocalCheckpoint } from '../../shared/http-api.ts';
import type { OutputStream } from '../../shared/states.ts';
import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';
import type { TaskRecord } from './records.ts';
import type { TaskStore } from './store.ts';

export interface TaskRow {
  id: string;
  job_id: string;
  idx: number;
  replica: number;
  args: string;
  seed: number;
  state: TaskRecord['state'];
  volunteer_id: string | null;
  lease: string | null;
  progress: number;
  restarts: number;
  exit_code: number | null;
  result: string | null;
  error: string | null;
  stdout_bytes: number;
  stderr_bytes: number;
  resume_seq: number | null;
  avoid_volunteer: string | null;
  started_at: string | null;
  finished_at: string | null;
  output_hash: string | null;
  verdict: TaskRecord['verdict'] | null;
}

export function taskFromRow(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    jobId: row.job_id,
    index: row.idx,
    replica: row.replica,
    args: JSON.parse(row.args) as string[],
    seed: row.seed,
    state: row.state,
    ...(row.volunteer_id ? { volunteerId: row.volunteer_id } : {}),
    ...(row.lease ? { lease: row.lease } : {}),
    progress: row.progress,
    restarts: row.restarts,
    ...(row.exit_code !== null ? { exitCode: row.exit_code } : {}),
    ...(row.result !== null ? { result: JSON.parse(row.result) as unknown } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
    outputBytes: { stdout: row.stdout_bytes, stderr: row.stderr_bytes },
    ...(row.resume_seq !== null ? { resumeSeq: row.resume_seq } : {}),
    ...(row.avoid_volunteer !== null ? { avoidVolunteer: row.avoid_volunteer } : {}),
    ...(row.started_at ? { startedAt: row.started_at } : {}),
    ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
    ...(row.output_hash !== null ? { outputHash: row.output_hash } : {}),
    ...(row.verdict ? { verdict: row.verdict } : {}),
  };
}

export function sqliteTasks(db: Db, commit: GroupCommit): TaskStore {
  const get = db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE id = ?');
  const forJob = db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE job_id = ? ORDER BY idx, replica');
  const nextQueued = db.prepare<[number], TaskRow>(
    "SELECT * FROM tasks WHERE state = 'queued' ORDER BY priority DESC, job_seq, idx, replica LIMIT ?",
  );
  const inState = db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE state = ?');
  const assign = db.prepare(
    "UPDATE tasks SET state = 'running', volunteer_id = ?, lease = ?, started_at = ? WHERE id = ? AND state = 'queued'",
  );
  const requeue = db.prepare(`
    UPDATE tasks SET state = (CASE WHEN (SELECT j.state FROM jobs j WHERE j.id = tasks.job_id) = 'preempted' THEN 'preempted' ELSE 'queued' END), volunteer_id = NULL, lease = NULL, progress = 0,
      restarts = restarts + ?, stdout_bytes = 0, stderr_bytes = 0, started_at = NULL, resume_seq = NULL, avoid_volunteer = NULL
    WHERE id = ?`);
  // A task waits as 'preempted' instead of 'queued' while its job is preempted: dispatch takes only queued ones.
  const moveWaiting = db.prepare('UPDATE tasks SET state = @to WHERE job_id = @jobId AND state = @from');
  const clearOutput = db.prepare('DELETE FROM task_output WHERE task_id = ?');
  const clearCheckpoints = db.prepare('DELETE FROM task_checkpoints WHERE task_id = ?');
  const clearCoordinatorCheckpoints = db.prepare('DELETE FROM checkpoints WHERE task_id = ?');
  const requeueFrom = db.prepare(`
    UPDATE tasks SET state = (CASE WHEN (SELECT j.state FROM jobs j WHERE j.id = tasks.job_id) = 'preempted' THEN 'preempted' ELSE 'queued' END), volunteer_id = NULL, lease = NULL, restarts = restarts + @lost,
      stdout_bytes = @stdout, stderr_bytes = @stderr, started_at = NULL, resume_seq = @seq, avoid_volunteer = @avoid
    WHERE id = @id`);
  // Cutting a stream at `keep` bytes: later chunks go, the one across the cut is shortened.
  const dropAfter = db.prepare('DELETE FROM task_output WHERE task_id = ? AND stream = ? AND offset >= ?');
  const shorten = db.prepare(`
    UPDATE task_output SET data = substr(data, 1, @keep - offset)
    WHERE task_id = @id AND stream = @stream AND offset < @keep AND offset + length(data) > @keep`);
  const recordCheckpoint = db.prepare(`
    INSERT OR REPLACE INTO task_checkpoints (task_id, seq, pages, bytes, stop_ms, save_ms, at)
    VALUES (@id, @seq, @pages, @bytes, @stopMs, @saveMs, @at)`);
  const checkpointsOfJob = db.prepare<[string], LocalCheckpoint & { taskId: string }>(`
    SELECT c.task_id AS taskId, c.seq, c.pages, c.bytes, c.stop_ms AS stopMs, c.save_ms AS saveMs, c.at
    FROM task_checkpoints c JOIN tasks t ON t.id = c.task_id
    WHERE t.job_id = ? ORDER BY c.task_id, c.seq`);
  const finish = db.prepare(`
    UPDATE tasks SET state = @state, exit_code = @exitCode, result = @result, error = @error,
      progress = 1, lease = NULL, finished_at = @at
    WHERE id = @id`);
  const cancel = db.prepare("UPDATE tasks SET state = 'cancelled', lease = NULL, finished_at = ? WHERE id = ?");
  const setProgress = db.prepare('UPDATE tasks SET progress = ? WHERE id = ?');
  const appendChunk = db.prepare('INSERT INTO task_output (task_id, stream, offset, data) VALUES (?, ?, ?, ?)');
  const grow = {
    stdout: db.prepare('UPDATE tasks SET stdout_bytes = stdout_bytes + ? WHERE id = ? RETURNING stdout_bytes - ? AS offset'),
    stderr: db.prepare('UPDATE tasks SET stderr_bytes = stderr_bytes + ? WHERE id = ? RETURNING stderr_bytes - ? AS offset'),
  };
  const chunks = db.prepare<[string, string], { data: Buffer }>(
    'SELECT data FROM task_output WHERE task_id = ? AND stream = ? ORDER BY offset',
  );

  return {
    get: (id) => {
      const row = get.get(id);
      return row && taskFromRow(row);
    },
    forJob: (jobId) => forJob.all(jobId).map(taskFromRow),
    nextQueued: (limit) => nextQueued.all(limit).map(taskFromRow),
    inState: (state) => inState.all(state).map(taskFromRow),
    assign: (id, volunteerId, lease, at) =>
      commit.write(() => {
        if (assign.run(volunteerId, lease, at, id).changes !== 1) throw new Error(`task ${id} is not queued`);
      }),
    requeue: (id, lost) =>
      commit.write(() => {
        requeue.run(lost ? 1 : 0, id);
        clearOutput.run(id);
        // It starts over, so checkpoints of the lost run describe nothing it has.
        clearCheckpoints.run(id);
        clearCoordinatorCheckpoints.run(id);
      }),
    requeueFrom: (id, seq, output, { lost, avoid }) =>
      commit.write(() => {
        for (const stream of ['stdout', 'stderr'] as const) {
          dropAfter.run(id, stream, output[stream]);
          shorten.run({ id, stream, keep: output[stream] });
        }
        requeueFrom.run({ id, seq, lost: lost ? 1 : 0, avoid: avoid ?? null, ...output });
      }),
    moveWaiting: (jobId, from, to) => commit.write(() => moveWaiting.run({ jobId, from, to }).changes),
    finish: (id, end) =>
      commit.write(() =>
        finish.run({
          id,
          state: end.state,
          exitCode: end.exitCode ?? null,
          result: end.result === undefined ? null : JSON.stringify(end.result),
          error: end.error ?? null,
          at: end.at,
        }),
      ),
    cancel: (id, at) => commit.write(() => cancel.run(at, id)),
    setProgress: (id, progress) => commit.write(() => setProgress.run(progress, id)),
    appendOutput: (id, stream: OutputStream, data) =>
      commit.write(() => {
        const row = grow[stream].get(data.byteLength, id, data.byteLength) as { offset: number } | undefined;
        if (!row) throw new Error(`task ${id} does not exist`);
        appendChunk.run(id, stream, row.offset, data);
      }),
    output: (id, stream) => concatBytes(chunks.all(id, stream).map((r) => r.data)),
    recordLocalCheckpoint: (id, checkpoint) => commit.write(() => recordCheckpoint.run({ id, ...checkpoint })),
    localCheckpointsOfJob: (jobId) => {
      const byTask = new Map<string, LocalCheckpoint[]>();
      for (const { taskId, ...checkpoint } of checkpointsOfJob.all(jobId)) {
        byTask.set(taskId, [...(byTask.get(taskId) ?? []), checkpoint]);
      }
      return byTask;
    },
  };
}
