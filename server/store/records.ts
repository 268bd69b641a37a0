/** What the store keeps, in the coordinator's own terms (not SQL rows). */
import type { ProgramInfo } from '../../shared/http-api.ts';
import type { JobState, OutputStream, ReplicaVerdict, TaskState } from '../../shared/states.ts';
import type { MemoryLimits } from '../../shared/volunteer-protocol.ts';

export interface ProgramRecord extends Omit<ProgramInfo, 'defaultArgs' | 'defaultTasks'> {
  /** Hash of the bytes volunteers run (for wasm: memory made shared). */
  runnable: string;
  memory: MemoryLimits;
  createdAt: string;
}

export interface JobRecord {
  seq: number;
  id: string;
  name: string;
  programId: string;
  args: string[];
  env: Record<string, string>;
  ranks: number;
  coupled: boolean;
  priority: number;
  checkpointIntervalMs: number;
  pageSize: number;
  redundancy: number;
  state: JobState;
  tasksTotal: number;
  tasksDone: number;
  tasksFailed: number;
  createdAt: string;
  finishedAt?: string;
  /** Coupled jobs: the newest round of coordinated checkpoints the coordinator holds whole (DESIGN.md §6). */
  recoveryLine?: number;
  /** Coupled jobs: how many times every rank went back to the recovery line; also the messages' epoch. */
  rollbacks: number;
  /** Coupled jobs: message-layer counters its ranks reported. */
  messages: MessageCounters;
}

export interface MessageCounters {
  sent: number;
  resent: number;
  /** Duplicates the receivers recognised and dropped. */
  discarded: number;
}

export type NewJob = Omit<JobRecord, 'seq' | 'tasksDone' | 'tasksFailed' | 'finishedAt' | 'recoveryLine' | 'rollbacks' | 'messages'>;

export interface TaskRecord {
  id: string;
  jobId: string;
  index: number;
  /** Which run of task `index` this row is (0 … ; always 0 without redundancy). */
  replica: number;
  args: string[];
  seed: number;
  state: TaskState;
  volunteerId?: string;
  lease?: string;
  progress: number;
  restarts: number;
  exitCode?: number;
  result?: unknown;
  error?: string;
  outputBytes: Record<OutputStream, number>;
  /** Queued to continue from this coordinator checkpoint (not from the start). */
  resumeSeq?: number;
  /** Not to be given to this volunteer next (it was migrated away from it). */
  avoidVolunteer?: string;
  startedAt?: string;
  finishedAt?: string;
  /** A replica's output hash (replica-vote.ts), once it finished. */
  outputHash?: string;
  /** What the vote among the index's replicas made of this one. */
  verdict?: ReplicaVerdict;
}

export interface NewTask {
  id: string;
  index: number;
  /** @default 0 */
  replica?: number;
  args: string[];
  seed: number;
}

export interface TaskEnd {
  state: 'completed' | 'failed';
  exitCode?: number;
  result?: unknown;
  error?: string;
  at: string;
}

export interface VolunteerRecord {
  id: string;
  name: string;
  cores: number;
  firstSeen: string;
  lastSeen: string;
  /** How many of its replicas' outputs a majority of other volunteers contradicted. */
  outvoted: number;
}

/** A task row's id: `<job>.<index>`, and `<job>.<index>.r<replica>` for a job's further replicas of that index. */
export function taskId(jobId: string, index: number, replica = 0): string {
  return replica === 0 ? `${jobId}.${index}` : `${jobId}.${index}.r${replica}`;
}
