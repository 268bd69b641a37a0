/**
 * The REST contract of API.md: request schemas (validated by the coordinator)
 * and response shapes (read by the dashboard, tests and scripts).
 */
import { z } from 'zod';
import { MAX_RANKS, MAX_TASKS_PER_JOB } from './limits.ts';
import type { JobState, ProgramFormat, ReplicaVerdict, TaskState } from './states.ts';

const arg = z.string().max(4096);
const args = z.array(arg).max(256);

export const postJobSchema = z
  .strictObject({
    program: z.string().min(1).max(200),
    name: z.string().min(1).max(200).optional(),
    args: args.optional(),
    ranks: z.number().int().min(1).max(MAX_RANKS).optional(),
    tasks: z
      .array(z.strictObject({ args }))
      .min(1)
      .max(MAX_TASKS_PER_JOB)
      .optional(),
    priority: z.number().int().min(-1000).max(1000).optional(),
    checkpointIntervalMs: z.number().int().min(100).max(86_400_000).optional(),
    pageSize: z
      .number()
      .int()
      .refine((n) => n >= 4096 && n <= 65536 && (n & (n - 1)) === 0, 'expected a power of two from 4096 to 65536')
      .optional(),
    redundancy: z.number().int().min(1).max(9).optional(),
    env: z.record(z.string().max(256), z.string().max(4096)).optional(),
  })
  .refine((job) => !(job.tasks && (job.ranks ?? 1) > 1), {
    message: 'a job has either independent tasks or ranks, not both',
    path: ['ranks'],
  })
  // Replicas of coupled ranks would have to run whole gangs per replica and vote per rank: not supported.
  .refine((job) => !((job.redundancy ?? 1) > 1 && (job.ranks ?? 1) > 1), {
    message: 'a coupled job (ranks > 1) runs without redundancy: redundancy must be 1',
    path: ['redundancy'],
  });
export type PostJobBody = z.infer<typeof postJobSchema>;

export interface ProgramInfo {
  id: string;
  name: string;
  format: ProgramFormat;
  size: number;
  builtin: boolean;
  description?: string;
  /** Built-in examples: arguments to start from. */
  defaultArgs?: string[];
  /** Built-in examples with independent tasks: one argument list per task. */
  defaultTasks?: string[][];
}

export interface JobSummary {
  id: string;
  name: string;
  state: JobState;
  priority: number;
  progress: number;
  createdAt: string;
  finishedAt?: string;
  tasksTotal: number;
  tasksDone: number;
}

export interface ResumeRecord {
  from: 'local' | 'coordinator';
  seq: number;
  at: string;
}

export interface LocalCheckpoint {
  seq: number;
  pages: number;
  bytes: number;
  stopMs: number;
  saveMs: number;
  at: string;
}

export interface TaskView {
  id: string;
  index: number;
  state: TaskState;
  volunteer?: string;
  progress: number;
  checkpoints: number;
  lastCheckpoint?: { seq: number; bytes: number; at: string };
  /** Checkpoints the volunteer committed to its own IndexedDB, oldest first (at most the last 100). */
  localCheckpoints: LocalCheckpoint[];
  restarts: number;
  resumes: ResumeRecord[];
  exitCode?: number;
  args: string[];
  /** Which replica of task `index` this is (0 … ; always 0 for a job with redundancy 1). */
  replica: number;
  /** Jobs with redundancy: what the vote among the index's replicas made of this one. */
  verdict?: ReplicaVerdict;
  /** Why it failed, as its volunteer said. */
  error?: string;
}

export interface JobView extends JobSummary {
  program: string;
  programName: string;
  args: string[];
  ranks: number;
  coupled: boolean;
  checkpointIntervalMs: number;
  pageSize: number;
  redundancy: number;
  /** Coupled jobs: the newest round of coordinated checkpoints the coordinator holds for every rank (what a rollback returns to). */
  recoveryLine?: number;
  /** Coupled jobs: times every rank rolled back to the recovery line. */
  rollbacks: number;
  /** Coupled jobs: message-layer counters summed over the ranks (resent: sent again unacknowledged; discarded: duplicates the receivers dropped). */
  messages: { sent: number; resent: number; discarded: number };
  /** A coupled job waiting to start all its ranks together: how many slots it needs, and how many are free. */
  waitingForSlots?: { needed: number; free: number };
  tasks: TaskView[];
}

export interface TaskOutput {
  index: number;
  state: TaskState;
  exitCode?: number;
  stdout: string;
  stderr: string;
  result?: unknown;
  error?: string;
  /** Jobs with redundancy: replicas of this index that finished and voted (the output is the majority's). */
  replicas?: number;
}

export interface JobOutput {
  tasks: TaskOutput[];
}

export interface VolunteerView {
  id: string;
  name: string;
  connected: boolean;
  tasks: string[];
  cores: number;
  slots: number;
  paused: boolean;
  lastSeen: string;
  /** Its replicas' outputs a majority of other volunteers contradicted (jobs with redundancy); absent: none. */
  outvoted?: number;
}
