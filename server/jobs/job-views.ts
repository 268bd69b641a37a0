/** Jobs, tasks and outputs in the shapes API.md promises. */
import type { JobOutput, JobSummary, JobView, LocalCheckpoint, ResumeRecord, TaskOutput, TaskView } from '../../shared/http-api.ts';
import { noMajorityError } from '../scheduler/replica-vote.ts';
import { isReplicated } from '../scheduler/replicas.ts';
import type { JobRecord, ProgramRecord, TaskRecord } from '../store/records.ts';
import type { CheckpointSummary, Store } from '../store/store.ts';

const decoder = new TextDecoder();

export function jobSummary(job: JobRecord, progress: number | undefined): JobSummary {
  return {
    id: job.id,
    name: job.name,
    state: job.state,
    priority: job.priority,
    progress: job.state === 'completed' ? 1 : (progress ?? 0),
    createdAt: job.createdAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    tasksTotal: job.tasksTotal,
    tasksDone: job.tasksDone,
  };
}

/** How many local checkpoints of a task the job view lists (the newest). */
const LOCAL_CHECKPOINTS_SHOWN = 100;

export interface TaskHistory {
  localCheckpoints?: readonly LocalCheckpoint[];
  checkpoints?: CheckpointSummary;
  resumes?: ResumeRecord[];
}

export function taskView(task: TaskRecord, history: TaskHistory = {}): TaskView {
  return {
    id: task.id,
    index: task.index,
    state: task.state,
    // Who runs it, or who ran it to the end; a requeued task has none until it is given out again.
    ...(task.volunteerId ? { volunteer: task.volunteerId } : {}),
    progress: task.state === 'completed' ? 1 : task.progress,
    checkpoints: history.checkpoints?.count ?? 0,
    ...(history.checkpoints ? { lastCheckpoint: history.checkpoints.last } : {}),
    restarts: task.restarts,
    resumes: history.resumes ?? [],
    localCheckpoints: (history.localCheckpoints ?? []).slice(-LOCAL_CHECKPOINTS_SHOWN),
    ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}),
    ...(task.error !== undefined ? { error: task.error } : {}),
    args: task.args,
    replica: task.replica,
    ...(task.verdict ? { verdict: task.verdict } : {}),
  };
}

export function jobView(store: Store, job: JobRecord, program: ProgramRecord | undefined, waitingForSlots?: JobView['waitingForSlots']): JobView {
  const local = store.tasks.localCheckpointsOfJob(job.id);
  const checkpoints = store.checkpoints.summariesOfJob(job.id);
  const resumes = store.checkpoints.resumesOfJob(job.id);
  return {
    ...jobSummary(job, store.jobs.progress([job.id]).get(job.id)),
    program: job.programId,
    programName: program?.name ?? job.programId,
    args: job.args,
    ranks: job.ranks,
    coupled: job.coupled,
    checkpointIntervalMs: job.checkpointIntervalMs,
    pageSize: job.pageSize,
    redundancy: job.redundancy,
    ...(job.recoveryLine !== undefined ? { recoveryLine: job.recoveryLine } : {}),
    rollbacks: job.rollbacks,
    messages: job.messages,
    ...(waitingForSlots && (job.state === 'queued' || job.state === 'running') ? { waitingForSlots } : {}),
    tasks: store.tasks.forJob(job.id).map((task) =>
      taskView(task, { localCheckpoints: local.get(task.id), checkpoints: checkpoints.get(task.id), resumes: resumes.get(task.id) }),
    ),
  };
}

function taskOutput(store: Store, task: TaskRecord): TaskOutput {
  return {
    index: task.index,
    state: task.state,
    ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}),
    stdout: decoder.decode(store.tasks.output(task.id, 'stdout')),
    stderr: decoder.decode(store.tasks.output(task.id, 'stderr')),
    ...(task.result !== undefined ? { result: task.result } : {}),
    ...(task.error !== undefined ? { error: task.error } : {}),
  };
}

/** One entry per task index: with redundancy, the accepted replica's output, a failure when no majority came, or where the vote stands. */
export function jobOutput(store: Store, job: JobRecord): JobOutput {
  const tasks = store.tasks.forJob(job.id);
  if (!isReplicated(job)) return { tasks: tasks.map((task) => taskOutput(store, task)) };
  const byIndex = new Map<number, TaskRecord[]>();
  for (const task of tasks) byIndex.set(task.index, [...(byIndex.get(task.index) ?? []), task]);
  return { tasks: [...byIndex.values()].map((replicas) => indexOutput(store, replicas)) };
}

function indexOutput(store: Store, replicas: TaskRecord[]): TaskOutput {
  const voted = replicas.filter((r) => r.outputHash !== undefined).length;
  const accepted = replicas.find((r) => r.verdict === 'accepted');
  if (accepted) return { ...taskOutput(store, accepted), replicas: voted };
  const { index } = replicas[0]!;
  const empty = { index, stdout: '', stderr: '', replicas: voted };
  if (replicas.some((r) => r.verdict === 'undecided')) return { ...empty, state: 'failed', error: noMajorityError(voted) };
  const states = new Set(replicas.map((r) => r.state));
  const state = (['running', 'queued', 'preempted'] as const).find((s) => states.has(s)) ?? 'cancelled';
  return { ...empty, state };
}
