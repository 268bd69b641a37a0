/**
 * The coordinator's narrow view of durable state. Calls are synchronous: one
 * process owns the state, and every write joins the current group-commit batch
 * (`commit`), so whoever answers a client waits for `commit.afterCommit`.
 * A PostgreSQL implementation keeps this shape with a write-behind batch.
 */
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { LocalCheckpoint, ResumeRecord } from '../../shared/http-api.ts';
import type { OutputStream, ReplicaVerdict, TaskState } from '../../shared/states.ts';
import type { GroupCommit } from './group-commit.ts';
import type {
  JobRecord,
  MessageCounters,
  NewJob,
  NewTask,
  ProgramRecord,
  TaskEnd,
  TaskRecord,
  VolunteerRecord,
} from './records.ts';

export interface ProgramStore {
  put(program: ProgramRecord): void;
  get(id: string): ProgramRecord | undefined;
  /** The newest program of that name, built-ins first. */
  byName(name: string): ProgramRecord | undefined;
  list(): ProgramRecord[];
  /** Hash of the program's instrumented bytes made by `version` (instrumented-cache.ts), if recorded. */
  instrumented(id: string, version: string): string | undefined;
  recordInstrumented(id: string, version: string, blob: string): void;
}

export interface JobStore {
  insert(job: NewJob, tasks: readonly NewTask[]): void;
  get(id: string): JobRecord | undefined;
  list(): JobRecord[];
  setState(id: string, state: JobRecord['state'], finishedAt?: string): void;
  /** Counts one more finished task; returns the job as it is now. */
  countFinished(id: string, failed: boolean): JobRecord;
  /** Mean task progress (finished tasks count as 1), by job id. */
  progress(ids?: readonly string[]): Map<string, number>;
}

export interface TaskStore {
  get(id: string): TaskRecord | undefined;
  forJob(jobId: string): TaskRecord[];
  /** The next queued tasks: highest priority first, then oldest job, then index. */
  nextQueued(limit: number): TaskRecord[];
  inState(state: TaskState): TaskRecord[];
  assign(id: string, volunteerId: string, lease: string, at: string): void;
  /** Back to the queue from the start (its output is cleared); `lost` counts a restart. Both requeues wait as 'preempted' while the job is. */
  requeue(id: string, lost: boolean): void;
  /**
   * Back to the queue to continue from coordinator checkpoint `seq`: its
   * output is cut to what the program had written at that checkpoint.
   * `avoid`: not to this volunteer next (a migration).
   */
  requeueFrom(id: string, seq: number, output: Record<OutputStream, number>, options: { lost: boolean; avoid?: string }): void;
  /** Tasks of the job waiting in state `from` now wait in `to` (preempt, resume); answers how many. */
  moveWaiting(jobId: string, from: 'queued' | 'preempted', to: 'queued' | 'preempted'): number;
  finish(id: string, end: TaskEnd): void;
  cancel(id: string, at: string): void;
  setProgress(id: string, progress: number): void;
  appendOutput(id: string, stream: OutputStream, data: Uint8Array): void;
  output(id: string, stream: OutputStream): Uint8Array;
  /** Records a checkpoint the volunteer committed locally (a repeated seq replaces the earlier report). */
  recordLocalCheckpoint(id: string, checkpoint: LocalCheckpoint): void;
  /** Local checkpoints of every task of a job, by task id, oldest first. */
  localCheckpointsOfJob(jobId: string): Map<string, LocalCheckpoint[]>;
}

/** How many checkpoints of a task the coordinator holds, and its newest. */
export interface CheckpointSummary {
  count: number;
  last: { seq: number; bytes: number; at: string };
}

/** Checkpoints committed on the coordinator (their segments are blobs), and resumes. */
export interface CheckpointStore {
  /** Stores a validated manifest, if `lease` still holds its task (else StaleLease), with its upload digest. */
  put(manifest: CheckpointManifest, upload: { at: string; digest: string; lease: string }): void;
  /** The digest of checkpoint `seq` as uploaded (checkpoint-format.ts manifestDigestInput). */
  digest(taskId: string, seq: number): string | undefined;
  get(taskId: string, seq: number): CheckpointManifest | undefined;
  newest(taskId: string): CheckpointManifest | undefined;
  /** The chain base → … → seq, base first; empty when a link is missing. */
  chain(taskId: string, seq: number): CheckpointManifest[];
  deleteTask(taskId: string): void;
  /** Deletes the task's checkpoints after `seq` (all of them for 0): a rollback abandoned the run that took them. */
  deleteAfter(taskId: string, seq: number): void;
  summariesOfJob(jobId: string): Map<string, CheckpointSummary>;
  recordResume(taskId: string, resume: ResumeRecord): void;
  /** By task id, oldest first. */
  resumesOfJob(jobId: string): Map<string, ResumeRecord[]>;
  /**
   * Compaction's swap, in one write: replaces manifest `base.seq` by `base`
   * (keeping the upload digest and time) and deletes the task's manifests
   * below it; only if, checked in that same write, the task is running,
   * `base.seq` is its newest checkpoint and above its resume point (the
   * volunteer has fetched the chain it resumed from), and the manifest there
   * is still `replaced`. Otherwise it changes nothing and returns false.
   */
  replaceByBase(base: CheckpointManifest, replaced: CheckpointManifest): boolean;
  /**
   * Whether a checkpoint, a program (its posted or its runnable bytes) or an
   * instrumented module names this blob. Asked here, though programs name
   * blobs too, because the garbage sweep is checkpoint storage's hygiene.
   */
  blobInUse(hash: string): boolean;
  /** Deletes the checkpoints of up to `limit` tasks whose job finished (completed, failed, cancelled) before `before` (ISO time); returns how many tasks. */
  deleteOfJobsFinishedBefore(before: string, limit: number): number;
}

/** Coupled jobs (DESIGN.md §6): rounds of coordinated checkpoints, the recovery line, rollbacks and message counters. */
export interface CoupledStore {
  /** Every rank entered round `round`'s barrier: the seq of each rank's checkpoint for it, by task id. */
  recordRound(jobId: string, round: number, seqs: ReadonlyMap<string, number>): void;
  /** The newest round recorded (0: none). */
  lastRound(jobId: string): number;
  /**
   * Forgets the rounds after `round` (all of them for 0): a rollback to
   * `round` abandoned the run they were taken in. The run after the rollback
   * numbers its checkpoints on from the line's seqs again, so such a round
   * would otherwise look whole once new checkpoints with its seqs arrive,
   * and become a recovery line no rank ever stopped for together.
   */
  dropRoundsAfter(jobId: string, round: number): void;
  /** The newest round after `after` whose `ranks` checkpoints are all stored on the coordinator. */
  newestWholeRound(jobId: string, after: number, ranks: number): number | undefined;
  /** Makes `round` the job's recovery line (never moving it back) and forgets older rounds. */
  advanceLine(jobId: string, round: number): void;
  /** Round `round`'s checkpoint seq of each rank, by task id. */
  roundSeqs(jobId: string, round: number): Map<string, number>;
  /** Counts one more rollback; returns the count, which is also the epoch of the job's messages from now on. */
  countRollback(jobId: string): number;
  addMessages(jobId: string, delta: MessageCounters): void;
  /** A completed rank must run again (a rollback): it is no longer finished, nor counted done. False if it was not completed. */
  reopen(taskId: string): boolean;
}

export interface VolunteerStore {
  /** Inserts or updates the volunteer; a `secretHash` is kept only if the row has none yet (the first one pins). */
  upsert(volunteer: Omit<VolunteerRecord, 'firstSeen' | 'outvoted'> & { secretHash?: string | null }): void;
  /** The SHA-256 of the secret pinned to this volunteer id (scheduler/volunteer-secret.ts), or null. */
  secretHash(id: string): string | null;
  /** One more of its replicas was outvoted. */
  countOutvoted(id: string): void;
  list(): VolunteerRecord[];
}

/** The replicas of a task index (a job's `redundancy`): the rows that vote on its output (server/scheduler/replicas.ts). */
export interface ReplicaStore {
  /** Every replica of task `index` of the job, by replica number. */
  of(jobId: string, index: number): TaskRecord[];
  /** Queues one more replica of task `index` (a copy of replica 0, numbered next); returns it. */
  add(jobId: string, index: number): TaskRecord;
  setHash(taskId: string, hash: string): void;
  setVerdict(taskId: string, verdict: ReplicaVerdict): void;
  /** Whether the volunteer may run this replica: it was never given another replica of the same index. */
  mayRun(task: TaskRecord, volunteerId: string): boolean;
  /** Records that the volunteer was given this replica (mayRun then refuses it the index's others). */
  recordRun(task: TaskRecord, volunteerId: string): void;
}

export interface Store {
  readonly commit: GroupCommit;
  readonly programs: ProgramStore;
  readonly jobs: JobStore;
  readonly tasks: TaskStore;
  readonly checkpoints: CheckpointStore;
  readonly coupled: CoupledStore;
  readonly volunteers: VolunteerStore;
  readonly replicas: ReplicaStore;
  close(): void;
}
