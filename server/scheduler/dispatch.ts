/**
 * Dispatch (DESIGN.md §2, §5): fills volunteers' free slots, first with the
 * waiting tasks a volunteer can resume from its own IndexedDB (it named
 * their checkpoints in its hello), then with the highest-priority queued
 * tasks, spread over volunteers; and when every slot is busy while tasks of a
 * higher priority wait, halts lower-priority ones for them (preemption.ts).
 * The ranks of a coupled job start together or not at all (gang
 * scheduling): such a job waits until enough slots are free, and says so.
 * The scheduler (scheduler.ts) runs it after every change that can matter.
 */
import { chainSegments } from '../../shared/checkpoint-format.ts';
import { ACK_TIMEOUT_MS } from '../../shared/limits.ts';
import { logger } from '../logger.ts';
import type { TaskRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { buildAssignment } from './assignment.ts';
import type { Lease, LeaseTable } from './lease-table.ts';
import { Lookup } from './lookup.ts';
import { choosePreemptions } from './preemption.ts';
import { isReplicated } from './replicas.ts';
import type { ChangeListener } from './scheduler.ts';
import type { VolunteerSession } from './session.ts';

const log = logger('scheduler');

/** Waiting tasks considered at once for preemption by priority. */
const PREEMPT_LOOKAHEAD = 256;

type Held = Lease<VolunteerSession>;

/** What dispatch needs of the scheduler. */
export interface DispatchHooks {
  sessions(): VolunteerSession[];
  /** The lease's volunteer is connected now. */
  connected(lease: Held): boolean;
  /** The task waits to continue from coordinator checkpoint `seq`, which has this digest. */
  resumableFrom(taskId: string, seq: number, digest: string): boolean;
  /** Ask the lease's volunteer to checkpoint the task and halt it. */
  halt(lease: Held, why: 'priority'): void;
  /** The volunteer did not accept the assignment. */
  refused(lease: Held, why: string): void;
  /** Every waiting rank of the coupled job was just given a lease. */
  gangStarted(jobId: string): void;
}

export class Dispatcher {
  /** Coupled jobs whose ranks wait for enough free slots to start together, as of the last dispatch. */
  readonly waitingGangs = new Map<string, { needed: number; free: number }>();

  constructor(
    private readonly store: Store,
    private readonly leases: LeaseTable<VolunteerSession>,
    private readonly changes: ChangeListener,
    private readonly hooks: DispatchHooks,
  ) {}

  /**
   * Fills free slots: first with tasks a volunteer can resume from its own
   * IndexedDB, then with the highest-priority queued tasks, spread over
   * volunteers; then, if tasks still wait, preempts lower-priority ones.
   */
  dispatch(): void {
    const open = this.hooks.sessions().filter((s) => s.free > 0);
    const lookup = new Lookup(this.store);
    for (const session of open) this.#giveBackHeld(session, lookup);
    const wanted = open.reduce((n, s) => n + s.free, 0);
    // Beyond `wanted`: a coupled job that does not fit must not hide the tasks behind it.
    const tasks = wanted === 0 ? [] : this.store.tasks.nextQueued(wanted + PREEMPT_LOOKAHEAD);
    const gangs = new Set<string>();
    let turn = 0;
    for (const task of tasks) {
      const job = lookup.job(task.jobId);
      if (job?.coupled) {
        if (!gangs.has(job.id)) this.#assignGang(job.id, open, lookup);
        gangs.add(job.id);
        continue;
      }
      // The next session in turn with a free slot, other than the one a migrated task left, and never a second replica of one index.
      const fits = (s: VolunteerSession) => s.free > 0 && s.volunteerId !== task.avoidVolunteer && lookup.mayRun(task, s.volunteerId);
      const skip = open.findIndex((_, i) => fits(open[(turn + i) % open.length]!));
      if (skip < 0) continue;
      turn += skip;
      this.#assign(task, open[turn++ % open.length]!, lookup);
    }
    this.#preemptForWaiting(lookup);
    this.changes.volunteers();
  }

  /** Gives a session the waiting tasks whose newest coordinator checkpoint it holds locally (it said so in its hello). */
  #giveBackHeld(session: VolunteerSession, lookup: Lookup): void {
    for (const [taskId, { seq, digest }] of session.held) {
      if (session.free === 0) return;
      const task = this.store.tasks.get(taskId);
      if (task?.state !== 'queued' || task.avoidVolunteer === session.volunteerId || !lookup.mayRun(task, session.volunteerId)) continue;
      if (lookup.job(task.jobId)?.coupled) continue; // given back with its gang (#assignGang)
      session.held.delete(taskId);
      if (this.hooks.resumableFrom(taskId, seq, digest)) this.#assign(task, session, lookup);
    }
  }

  /**
   * Starts every waiting rank of a coupled job at once, if the free slots
   * allow: each to the volunteer that holds its checkpoint locally if that
   * one has room (a survivor of a rollback), the rest spread over the others.
   */
  #assignGang(jobId: string, open: VolunteerSession[], lookup: Lookup): void {
    const waiting = this.store.tasks.forJob(jobId).filter((t) => t.state === 'queued');
    const free = open.reduce((n, s) => n + s.free, 0);
    if (waiting.length === 0) return;
    if (waiting.length > free) {
      this.waitingGangs.set(jobId, { needed: waiting.length, free });
      return;
    }
    this.waitingGangs.delete(jobId);
    const rest: TaskRecord[] = [];
    for (const task of waiting) {
      const holder = open.find((s) => {
        const held = s.held.get(task.id);
        return s.free > 0 && held !== undefined && this.hooks.resumableFrom(task.id, held.seq, held.digest);
      });
      holder?.held.delete(task.id);
      if (holder) this.#assign(task, holder, lookup);
      else rest.push(task);
    }
    // Spread over the volunteers, but neighbouring ranks together: ranks on one page talk without the relay.
    const share = new Map<VolunteerSession, number>();
    const left = new Map(open.map((s) => [s, s.free]));
    for (let turn = 0, placed = 0; placed < rest.length; turn++) {
      const session = open[turn % open.length]!;
      if (left.get(session)! === 0) continue;
      left.set(session, left.get(session)! - 1);
      share.set(session, (share.get(session) ?? 0) + 1);
      placed++;
    }
    const byRank = [...rest].sort((a, b) => a.index - b.index);
    for (const [session, count] of share) for (const task of byRank.splice(0, count)) this.#assign(task, session, lookup);
    this.hooks.gangStarted(jobId);
  }

  #assign(task: TaskRecord, session: VolunteerSession, lookup: Lookup): void {
    const job = lookup.job(task.jobId);
    const program = job && lookup.program(job.programId);
    if (!job || !program) return;
    const chain = task.resumeSeq === undefined ? [] : this.store.checkpoints.chain(task.id, task.resumeSeq);
    if (task.resumeSeq !== undefined && chain.length === 0) {
      // Cannot happen while checkpoints are only ever added; if it does, starting over is the safe way on.
      log.error(`task ${task.id}: its checkpoint ${task.resumeSeq} has no complete chain; it starts over`);
      this.store.tasks.requeue(task.id, false);
      return;
    }
    const now = Date.now();
    // The first lease period also covers the volunteer's acceptance.
    const lease = this.leases.grant(task.id, job.id, session.volunteerId, session, now, ACK_TIMEOUT_MS, task.outputBytes);
    if (chain.length > 0) lease.resumeSegments = new Set(chainSegments(chain));
    session.leases.add(lease.token);
    this.store.tasks.assign(task.id, session.volunteerId, lease.token, new Date(now).toISOString());
    if (isReplicated(job)) this.store.replicas.recordRun(task, session.volunteerId);
    if (job.state === 'queued') {
      this.store.jobs.setState(job.id, 'running');
      job.state = 'running';
    }
    this.changes.job(job.id);
    const digest = task.resumeSeq === undefined ? undefined : this.store.checkpoints.digest(task.id, task.resumeSeq);
    const assignment = buildAssignment(task, job, program, lease.token, chain, digest);
    this.store.commit.afterCommit(() => {
      session.link.assign(assignment).then(
        () => this.leases.renew(lease, Date.now()),
        (error: Error) => this.hooks.refused(lease, `not accepted: ${error.message}`),
      );
    });
  }

  /** Some running task's job has a priority below `priority` (each job looked at once). */
  #anyRunningBelow(priority: number, lookup: Lookup): boolean {
    for (const jobId of this.leases.runningJobs()) if ((lookup.job(jobId)?.priority ?? 0) < priority) return true;
    return false;
  }

  /** Every slot is busy and tasks wait: halts running tasks of lower priority so those get the slots (choosePreemptions). */
  #preemptForWaiting(lookup: Lookup): void {
    if (this.hooks.sessions().some((s) => s.free > 0)) return;
    // With every slot busy and tasks waiting this runs after each dispatch: test cheaply whether the
    // highest-priority waiting task outranks any running one before the full pass (one look per running job).
    const top = this.store.tasks.nextQueued(1)[0];
    if (!top || !this.#anyRunningBelow(lookup.job(top.jobId)?.priority ?? 0, lookup)) return;
    // Coupled ranks neither preempt nor are preempted one by one: they move only as a whole.
    const waiting = this.store.tasks.nextQueued(PREEMPT_LOOKAHEAD).filter((t) => !lookup.job(t.jobId)?.coupled);
    if (waiting.length === 0) return;
    const running = this.leases
      .all()
      .filter((l) => this.hooks.connected(l) && !lookup.job(l.jobId)?.coupled)
      .map((l) => ({ lease: l, token: l.token, priority: lookup.job(l.jobId)?.priority ?? 0, halting: l.halting !== undefined }));
    const chosen = new Set(choosePreemptions(waiting.map((t) => lookup.job(t.jobId)?.priority ?? 0), running));
    for (const { lease } of running.filter((r) => chosen.has(r.token))) {
      log.info(`task ${lease.taskId} preempted for a higher-priority task`);
      this.hooks.halt(lease, 'priority');
    }
  }
}
