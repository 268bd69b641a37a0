/**
 * Leases: the right of one volunteer session to run one task. A lease is renewed
 * by heartbeats and ends when it expires, when its session goes, or when the task
 * ends. Tokens are unguessable, so a result can only come from the holder.
 */
import { randomUUID } from 'node:crypto';
import type { OutputStream } from '../../shared/states.ts';

export interface Lease<S> {
  readonly token: string;
  readonly taskId: string;
  readonly jobId: string;
  readonly volunteerId: string;
  /** The connection holding it; null while its volunteer is away (after a coordinator restart). */
  session: S | null;
  expiresAt: number;
  /** Output stored so far under this lease, to enforce the per-task cap without a read. */
  readonly outputBytes: Record<OutputStream, number>;
  /**
   * Asked to checkpoint and halt: to move to another volunteer (`migrate`),
   * because its job was preempted (`preempt`), or to free the slot for a
   * higher-priority task (`priority`).
   */
  halting?: 'migrate' | 'preempt' | 'priority';
  /** The segments the task was given to resume from: the only ones its volunteer may fetch. */
  resumeSegments?: ReadonlySet<string>;
}

export class LeaseTable<S> {
  readonly #byToken = new Map<string, Lease<S>>();
  /** A task has at most one lease; the relay looks its rank's up per message. */
  readonly #byTask = new Map<string, Lease<S>>();
  /** Leases per job: dispatch asks which jobs run after every assignment, so it must not walk every lease. */
  readonly #perJob = new Map<string, number>();

  constructor(private readonly leaseMs: number) {}

  /** A new lease on a task that has `output` stored already (none, unless it resumes from a checkpoint). */
  grant(
    taskId: string,
    jobId: string,
    volunteerId: string,
    session: S | null,
    now: number,
    extraMs = 0,
    output: Record<OutputStream, number> = { stdout: 0, stderr: 0 },
  ): Lease<S> {
    return this.adopt(randomUUID(), taskId, jobId, volunteerId, session, now + this.leaseMs + extraMs, output);
  }

  /** Re-creates a lease whose token is already durable (after a coordinator restart). */
  adopt(
    token: string,
    taskId: string,
    jobId: string,
    volunteerId: string,
    session: S | null,
    expiresAt: number,
    outputBytes: Record<OutputStream, number>,
  ): Lease<S> {
    const lease: Lease<S> = { token, taskId, jobId, volunteerId, session, expiresAt, outputBytes: { ...outputBytes } };
    if (!this.#byToken.has(token)) this.#perJob.set(jobId, (this.#perJob.get(jobId) ?? 0) + 1);
    this.#byToken.set(token, lease);
    this.#byTask.set(taskId, lease);
    return lease;
  }

  get(token: string): Lease<S> | undefined {
    return this.#byToken.get(token);
  }

  renew(lease: Lease<S>, now: number): void {
    lease.expiresAt = now + this.leaseMs;
  }

  end(lease: Lease<S>): void {
    if (this.#byToken.get(lease.token) === lease) {
      const left = (this.#perJob.get(lease.jobId) ?? 1) - 1;
      if (left > 0) this.#perJob.set(lease.jobId, left);
      else this.#perJob.delete(lease.jobId);
    }
    this.#byToken.delete(lease.token);
    if (this.#byTask.get(lease.taskId) === lease) this.#byTask.delete(lease.taskId);
  }

  /** Leases past their expiry. */
  expired(now: number): Lease<S>[] {
    return [...this.#byToken.values()].filter((l) => l.expiresAt < now);
  }

  all(): Lease<S>[] {
    return [...this.#byToken.values()];
  }

  ofTask(taskId: string): Lease<S> | undefined {
    return this.#byTask.get(taskId);
  }

  /** The jobs that hold at least one lease. */
  runningJobs(): IterableIterator<string> {
    return this.#perJob.keys();
  }

  ofJob(jobId: string): Lease<S>[] {
    return [...this.#byToken.values()].filter((l) => l.jobId === jobId);
  }

  get size(): number {
    return this.#byToken.size;
  }
}
