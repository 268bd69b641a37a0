/** Closed sets of states and formats, shared by coordinator, pages and tests (API.md). */

export const JOB_STATES = ['queued', 'running', 'preempted', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TASK_STATES = ['queued', 'running', 'preempted', 'completed', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** States a task or job never leaves. */
export const FINISHED_STATES: readonly TaskState[] = ['completed', 'failed', 'cancelled'];

export function isFinished(state: TaskState | JobState): boolean {
  return (FINISHED_STATES as readonly string[]).includes(state);
}

export const PROGRAM_FORMATS = ['wasm', 'js'] as const;
export type ProgramFormat = (typeof PROGRAM_FORMATS)[number];

/**
 * What the vote among a task index's replicas (a job's `redundancy`) made of
 * one replica: its output is the index's output (accepted), matched it
 * (agreed), differed from the majority (outvoted), or no majority came of
 * the most replicas allowed (undecided: the index failed).
 */
export const REPLICA_VERDICTS = ['accepted', 'agreed', 'outvoted', 'undecided'] as const;
export type ReplicaVerdict = (typeof REPLICA_VERDICTS)[number];

export const OUTPUT_STREAMS = ['stdout', 'stderr'] as const;
export type OutputStream = (typeof OUTPUT_STREAMS)[number];
