/**
 * Coupled jobs on the coordinator (DESIGN.md §6; claims 50, 57–61, 76–80,
 * 98–102, 109): the ranks' relay, their rounds of coordinated checkpoints,
 * and what happens to the whole job when one rank is lost, fails or is
 * preempted. The scheduler owns the leases and hands coupled jobs' events
 * here; dispatch starts their ranks together (dispatch.ts).
 */
import { GridError } from '../../shared/errors.ts';
import { outputOffsetsOf } from '../../shared/task-state.ts';
import { logger } from '../logger.ts';
import type { Lease, LeaseTable } from '../scheduler/lease-table.ts';
import type { ChangeListener } from '../scheduler/scheduler.ts';
import type { VolunteerSession } from '../scheduler/session.ts';
import type { JobRecord, MessageCounters } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { CoordinatedCheckpoints } from './coordinated-checkpoints.ts';
import { RankDirectory } from './rank-directory.ts';
import { Relay } from './relay.ts';

const log = logger('coupled');

type Held = Lease<VolunteerSession>;

/** What coupled jobs need of the scheduler. */
export interface CoupledHooks {
  /** Ends the lease (its task's state is written separately). */
  endLease(lease: Held): void;
  /** Tasks were requeued: dispatch soon. */
  dispatchSoon(): void;
}

export class CoupledJobs {
  readonly #ranks: RankDirectory;
  readonly #relay: Relay;
  readonly #rounds: CoordinatedCheckpoints;

  constructor(
    private readonly store: Store,
    private readonly leases: LeaseTable<VolunteerSession>,
    private readonly changes: ChangeListener,
    private readonly hooks: CoupledHooks,
  ) {
    this.#ranks = new RankDirectory(store);
    this.#relay = new Relay(leases, this.#ranks);
    this.#rounds = new CoordinatedCheckpoints(store, leases, this.#ranks, changes);
  }

  isRank(taskId: string): boolean {
    return this.#ranks.jobOfTask(taskId) !== undefined;
  }

  /** Every waiting rank of the job was just given a lease (or adopted after a restart): rounds go on. */
  gangStarted(jobId: string): void {
    this.#rounds.gangStarted(jobId);
  }

  /** Frames from one rank to rank `to` of its job (relay.ts). */
  relay(sender: Held, to: number, data: Uint8Array): void {
    this.#relay.forward(sender, to, data);
  }

  /** The rank stopped for coordinated checkpoint `round` with its checkpoint `seq`. */
  enterRound(lease: Held, round: number, seq: number): void {
    this.#rounds.enter(lease, round, seq);
  }

  /** Message-layer counters a rank reports, summed per job. */
  addStats(lease: Held, delta: MessageCounters): void {
    if (delta.sent + delta.resent + delta.discarded === 0) return;
    this.store.coupled.addMessages(lease.jobId, delta);
    this.changes.job(lease.jobId);
  }

  /** A checkpoint reached the coordinator; answers whether its task is a rank (whose chain must not be compacted: a rollback may need an older one). */
  checkpointStored(taskId: string): boolean {
    if (!this.isRank(taskId)) return false;
    this.#rounds.stored(taskId);
    return true;
  }

  /** API.md `POST /api/jobs/:id/checkpoint`: a coordinated round now. */
  checkpointNow(jobId: string): void {
    this.#rounds.startNow(jobId);
  }

  /** A rank finished: its ranks can no longer all stop for a round, so none opens until a rollback brings it back. */
  rankFinished(jobId: string, taskId: string): void {
    this.#rounds.abort(jobId, `rank task ${taskId} finished`);
  }

  /**
   * Recovery (DESIGN.md §6): when a rank is lost (`lost`), or the job is
   * preempted (none), every rank goes back to the job's recovery line, or to
   * the start if it has none. The others' volunteers stop them but keep
   * their local checkpoints, and are offered them back (dispatch gives a
   * held task to its holder), so survivors resume from their own IndexedDB
   * and the replacement from the coordinator's copy. Ranks that had
   * completed run again from the line too: the others need the messages they
   * sent after it. The epoch (the rollback count) makes every message and
   * ack of before the rollback stale.
   */
  rollback(job: JobRecord, lost: Held | undefined, why: string, countLost: boolean): void {
    this.#rounds.abort(job.id, why);
    const line = job.recoveryLine === undefined ? undefined : this.store.coupled.roundSeqs(job.id, job.recoveryLine);
    // What the ranks did after the line is abandoned: its rounds and checkpoints go (the run after this one takes their seqs again).
    this.store.coupled.dropRoundsAfter(job.id, line ? job.recoveryLine! : 0);
    for (const task of this.store.tasks.forJob(job.id)) this.store.checkpoints.deleteAfter(task.id, line?.get(task.id) ?? 0);
    const epoch = this.store.coupled.countRollback(job.id);
    log.info(`job ${job.id} rolls back to ${line ? `round ${job.recoveryLine}` : 'the start'} (epoch ${epoch}): ${why}`);
    for (const lease of this.leases.ofJob(job.id)) {
      this.hooks.endLease(lease);
      if (lease === lost) continue;
      lease.session?.link.cancel(lease.taskId, `its job rolls back: ${why}`, true);
      const seq = line?.get(lease.taskId);
      const digest = seq === undefined ? undefined : this.store.checkpoints.digest(lease.taskId, seq);
      if (lease.session && seq !== undefined && digest) lease.session.held.set(lease.taskId, { seq, digest });
    }
    for (const task of this.store.tasks.forJob(job.id)) {
      if (task.state === 'completed') this.store.coupled.reopen(task.id);
      else if (task.state !== 'running' && task.state !== 'queued' && task.state !== 'preempted') continue;
      const seq = line?.get(task.id);
      const manifest = seq === undefined ? undefined : this.store.checkpoints.get(task.id, seq);
      const restart = countLost && task.id === lost?.taskId;
      if (manifest) this.store.tasks.requeueFrom(task.id, manifest.seq, outputOffsetsOf(manifest.state) ?? { stdout: 0, stderr: 0 }, { lost: restart });
      else this.store.tasks.requeue(task.id, restart);
    }
    this.changes.job(job.id);
    this.hooks.dispatchSoon();
  }

  /** A rank failed: the others can never finish (they would wait for its messages), so they are cancelled and the job fails. */
  fail(job: JobRecord, failedTaskId: string): void {
    const at = new Date().toISOString();
    this.forget(job.id);
    for (const lease of this.leases.ofJob(job.id)) {
      this.hooks.endLease(lease);
      lease.session?.link.cancel(lease.taskId, `rank task ${failedTaskId} of its job failed`);
    }
    for (const task of this.store.tasks.forJob(job.id)) {
      if (task.state === 'queued' || task.state === 'running' || task.state === 'preempted') this.store.tasks.cancel(task.id, at);
    }
    this.store.jobs.setState(job.id, 'failed', at);
    this.changes.job(job.id);
    this.hooks.dispatchSoon();
  }

  /** A rank cannot move alone (API.md migrate). */
  refuseMigration(taskId: string): void {
    if (this.isRank(taskId)) {
      throw new GridError('Conflict', `task ${taskId} is a rank of a coupled job, which moves only as a whole: preempt and resume the job instead`);
    }
  }

  /** The job is over: no more rounds, and its ranks are forgotten. */
  forget(jobId: string): void {
    this.#rounds.forget(jobId);
    this.#ranks.drop(jobId);
  }

  close(): void {
    this.#rounds.close();
  }
}
