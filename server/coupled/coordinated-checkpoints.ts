/**
 * Coordinated checkpoints of coupled jobs (DESIGN.md §6; claims 57–61, 98–102).
 *
 * Every `checkpointIntervalMs` while all of a job's ranks hold leases, round
 * k opens: each rank is asked to stop at its next safepoint (a blocking
 * `recv` is one), write-protect its dirty pages, capture its message state
 * and enter round k's barrier with the seq of that checkpoint. When every
 * rank has entered, the round is recorded and the barrier releases them all;
 * their pages are saved while they run on. Because nobody runs on before
 * everybody has stopped, no checkpoint can hold a message received that
 * another has not yet sent. A round that does not fill within
 * ROUND_TIMEOUT_MS, or whose job rolls back, is aborted (its ranks are
 * released, and its checkpoints never make a recovery line): no barrier
 * waits forever.
 *
 * When the coordinator holds every checkpoint of a recorded round, that
 * round becomes the job's recovery line, the point a rollback returns to.
 */
import { GridError } from '../../shared/errors.ts';
import { ROUND_TIMEOUT_MS } from '../../shared/limits.ts';
import { logger } from '../logger.ts';
import type { Lease, LeaseTable } from '../scheduler/lease-table.ts';
import type { ChangeListener } from '../scheduler/scheduler.ts';
import type { VolunteerSession } from '../scheduler/session.ts';
import type { Store } from '../store/store.ts';
import type { CoupledJobInfo, RankDirectory } from './rank-directory.ts';

const log = logger('coupled');

/** How often rounds are opened and timed out. */
const SWEEP_MS = 100;

type Held = Lease<VolunteerSession>;

interface OpenRound {
  round: number;
  openedAt: number;
  /** Checkpoint seq by task id, of the ranks that entered. */
  entered: Map<string, number>;
}

interface JobRounds {
  open?: OpenRound;
  nextAt: number;
  /** The newest round opened (recorded or not), so numbers are never reused. */
  last: number;
}

export class CoordinatedCheckpoints {
  readonly #jobs = new Map<string, JobRounds>();
  readonly #sweep: ReturnType<typeof setInterval>;

  constructor(
    private readonly store: Store,
    private readonly leases: LeaseTable<VolunteerSession>,
    private readonly directory: RankDirectory,
    private readonly changes: ChangeListener,
    private readonly timeoutMs = ROUND_TIMEOUT_MS,
  ) {
    this.#sweep = setInterval(() => this.#tick(Date.now()), SWEEP_MS);
    this.#sweep.unref();
  }

  /** Every rank of the job was just given a lease: the first round comes one interval later. */
  gangStarted(jobId: string): void {
    const info = this.directory.job(jobId);
    if (!info) return;
    const rounds = this.#rounds(jobId);
    rounds.nextAt = Date.now() + info.intervalMs;
  }

  /** Opens a round now if every rank is leased (API.md `POST /api/jobs/:id/checkpoint`); false if it cannot. */
  startNow(jobId: string): boolean {
    const info = this.directory.job(jobId);
    if (!info || this.#rounds(jobId).open) return false;
    return this.#open(info, Date.now());
  }

  /** A rank stopped for `round` with checkpoint `seq`; the last one in releases them all. */
  enter(lease: Held, round: number, seq: number): void {
    const open = this.#jobs.get(lease.jobId)?.open;
    if (open?.round !== round) throw new GridError('Conflict', `round ${round} of job ${lease.jobId} is not open (aborted or over)`);
    open.entered.set(lease.taskId, seq);
    const info = this.directory.job(lease.jobId);
    if (info && open.entered.size === info.taskIds.length) this.#close(info, open);
  }

  /** The job rolls back or ends: an open round is aborted and its ranks released (those that are still there). */
  abort(jobId: string, why: string): void {
    const rounds = this.#jobs.get(jobId);
    if (!rounds?.open) return;
    log.info(`job ${jobId}: round ${rounds.open.round} aborted: ${why}`);
    this.#release(jobId, rounds.open.round, true);
    rounds.open = undefined;
    const info = this.directory.job(jobId);
    rounds.nextAt = Date.now() + (info?.intervalMs ?? 0);
  }

  /** Checkpoint `seq` of a task reached the coordinator: a round it completes becomes the recovery line. */
  stored(taskId: string): void {
    const info = this.directory.jobOfTask(taskId);
    if (info) this.#advanceLine(info);
  }

  #advanceLine(info: CoupledJobInfo): void {
    const job = this.store.jobs.get(info.jobId);
    if (!job) return;
    const whole = this.store.coupled.newestWholeRound(job.id, job.recoveryLine ?? 0, info.taskIds.length);
    if (whole === undefined) return;
    this.store.coupled.advanceLine(job.id, whole);
    log.info(`job ${job.id}: recovery line at round ${whole}`);
    this.changes.job(job.id);
  }

  /** The job is over: no more rounds. */
  forget(jobId: string): void {
    this.abort(jobId, 'the job ended');
    this.#jobs.delete(jobId);
  }

  close(): void {
    clearInterval(this.#sweep);
  }

  #rounds(jobId: string): JobRounds {
    let rounds = this.#jobs.get(jobId);
    if (!rounds) {
      rounds = { nextAt: Number.POSITIVE_INFINITY, last: this.store.coupled.lastRound(jobId) };
      this.#jobs.set(jobId, rounds);
    }
    return rounds;
  }

  #tick(now: number): void {
    for (const [jobId, rounds] of this.#jobs) {
      const info = this.directory.job(jobId);
      if (!info) continue;
      if (rounds.open) {
        if (now - rounds.open.openedAt > this.timeoutMs) this.abort(jobId, `not every rank entered within ${this.timeoutMs} ms`);
      } else if (now >= rounds.nextAt) {
        this.#open(info, now);
      }
    }
  }

  /** Opens the next round if every rank holds a lease on a connected volunteer. */
  #open(info: CoupledJobInfo, now: number): boolean {
    const rounds = this.#rounds(info.jobId);
    const leases = info.taskIds.map((id) => this.leases.ofTask(id));
    if (!leases.every((l) => l?.session)) {
      rounds.nextAt = now + info.intervalMs;
      return false;
    }
    const round = ++rounds.last;
    rounds.open = { round, openedAt: now, entered: new Map() };
    for (const lease of leases) lease!.session!.link.roundCheckpoint(lease!.taskId, round);
    return true;
  }

  #close(info: CoupledJobInfo, open: OpenRound): void {
    const rounds = this.#rounds(info.jobId);
    rounds.open = undefined;
    rounds.nextAt = Date.now() + info.intervalMs;
    this.store.coupled.recordRound(info.jobId, open.round, open.entered);
    // Its checkpoints may all be uploaded already.
    this.#advanceLine(info);
    // Released once the round is durable: a rank must not run on past a round the coordinator could forget.
    this.store.commit.afterCommit(() => this.#release(info.jobId, open.round, false));
  }

  #release(jobId: string, round: number, aborted: boolean): void {
    const info = this.directory.job(jobId);
    for (const taskId of info?.taskIds ?? []) {
      const lease = this.leases.ofTask(taskId);
      lease?.session?.link.roundRelease(taskId, round, aborted);
    }
  }
}
