/**
 * Which task is which rank of a coupled job, kept in memory: the relay looks
 * a rank up for every batch of messages, and a job's ranks never change.
 */
import type { Store } from '../store/store.ts';

export interface CoupledJobInfo {
  jobId: string;
  /** Task ids by rank. */
  taskIds: readonly string[];
  rankOf: ReadonlyMap<string, number>;
  intervalMs: number;
}

export class RankDirectory {
  readonly #jobs = new Map<string, CoupledJobInfo>();
  readonly #jobOfTask = new Map<string, string>();

  constructor(private readonly store: Store) {}

  /** The coupled job's ranks; undefined for a job that is not coupled (or does not exist). */
  job(jobId: string): CoupledJobInfo | undefined {
    const known = this.#jobs.get(jobId);
    if (known) return known;
    const job = this.store.jobs.get(jobId);
    if (!job?.coupled) return undefined;
    const taskIds = this.store.tasks
      .forJob(jobId)
      .sort((a, b) => a.index - b.index)
      .map((t) => t.id);
    const info: CoupledJobInfo = { jobId, taskIds, rankOf: new Map(taskIds.map((id, rank) => [id, rank])), intervalMs: job.checkpointIntervalMs };
    this.#jobs.set(jobId, info);
    for (const id of taskIds) this.#jobOfTask.set(id, jobId);
    return info;
  }

  /** The coupled job a task is a rank of, if it is one. */
  jobOfTask(taskId: string): CoupledJobInfo | undefined {
    const jobId = this.#jobOfTask.get(taskId) ?? this.store.tasks.get(taskId)?.jobId;
    return jobId === undefined ? undefined : this.job(jobId);
  }

  /** The job is over: forget it. */
  drop(jobId: string): void {
    const info = this.#jobs.get(jobId);
    if (!info) return;
    for (const id of info.taskIds) this.#jobOfTask.delete(id);
    this.#jobs.delete(jobId);
  }
}
