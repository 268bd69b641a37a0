/**
 * Follows each task through its lease (dispatch.ts matches queued tasks to
 * volunteers' free slots): assignment, progress, output, finish or failure, loss (disconnect,
 * `pagehide`, heartbeat silence) and requeue. Every state change is written
 * through the group commit, and a volunteer hears about it only once durable.
 * A task can also be halted through a checkpoint (migration, preemption of
 * its job or for a higher-priority task) and continue later from the
 * coordinator's copy, or from the copy a reconnecting volunteer still holds.
 * Claims 54–56, 62–65, 84–87, 103–107 (DESIGN.md §5).
 *
 * The ranks of a coupled job (DESIGN.md §6) are dispatched together, message
 * each other through the relay, and checkpoint in coordinated rounds
 * (server/coupled/); losing one rolls every rank back to the job's recovery
 * line instead of requeueing the one.
 */
import { GridError } from '../../shared/errors.ts';
import { HEARTBEAT_MS, LEASE_MS, MAX_OUTPUT_BYTES } from '../../shared/limits.ts';
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import type { LocalCheckpoint } from '../../shared/http-api.ts';
import type { OutputStream } from '../../shared/states.ts';
import { outputOffsetsOf } from '../../shared/task-state.ts';
import type { ParsedHello, Welcome } from '../../shared/volunteer-protocol.ts';
import { CoupledJobs } from '../coupled/coupled-jobs.ts';
import { logger } from '../logger.ts';
import type { JobRecord, MessageCounters, TaskEnd } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { Dispatcher } from './dispatch.ts';
import { LeaseTable } from './lease-table.ts';
import { isReplicated, ReplicaVotes } from './replicas.ts';
import type { Lease } from './lease-table.ts';
import { VolunteerSession } from './session.ts';
import type { VolunteerLink } from './session.ts';
import { verifyVolunteerSecret } from './volunteer-secret.ts';

const log = logger('scheduler');

/** How often expired leases are looked for. */
const SWEEP_MS = 500;

/** Who hears that something changed (the dashboards). */
export interface ChangeListener {
  job(id: string): void;
  volunteers(): void;
}

type Held = Lease<VolunteerSession>;

const TRUNCATED_NOTE = new TextEncoder().encode(`\n[output truncated at ${MAX_OUTPUT_BYTES} bytes]\n`);

export class Scheduler {
  readonly #sessions = new Map<VolunteerLink, VolunteerSession>();
  readonly #leases = new LeaseTable<VolunteerSession>(LEASE_MS);
  readonly #sweep: ReturnType<typeof setInterval>;
  #dispatchPending = false;
  readonly #dispatcher: Dispatcher;
  readonly #coupled: CoupledJobs;
  readonly #votes: ReplicaVotes;
  /** Set when the coordinator shuts down: its sockets close, but the volunteers did not leave. */
  #closed = false;

  constructor(
    private readonly store: Store,
    private readonly changes: ChangeListener,
  ) {
    this.#coupled = new CoupledJobs(store, this.#leases, changes, {
      endLease: (lease) => this.#endLease(lease),
      dispatchSoon: () => this.#scheduleDispatch(),
    });
    this.#votes = new ReplicaVotes(store);
    this.#dispatcher = new Dispatcher(store, this.#leases, changes, {
      sessions: () => [...this.#sessions.values()],
      connected: (lease) => lease.session !== null && this.#sessions.has(lease.session.link),
      resumableFrom: (taskId, seq, digest) => this.#resumableFrom(taskId, seq, digest),
      halt: (lease, why) => this.#halt(lease, why),
      gangStarted: (jobId) => this.#coupled.gangStarted(jobId),
      refused: (lease, why) => {
        // After close the store is gone and the lease is kept for the next start.
        if (!this.#closed && this.#leases.get(lease.token)) this.#lose(lease, why, false);
      },
    });
    this.#adoptRunningTasks();
    this.#sweep = setInterval(() => this.#expire(), SWEEP_MS);
    this.#sweep.unref();
  }

  /**
   * After a restart every running task goes back to the queue from its newest
   * coordinator checkpoint (a coupled job rolls back to its recovery line), as
   * when its volunteer's connection drops: output the volunteer sent in the
   * batch the crash did not commit, or before its hello after the restart,
   * is gone, and a kept lease would carry on after that gap.
   */
  #adoptRunningTasks(): void {
    const expiresAt = Date.now() + LEASE_MS;
    const adopted = [];
    for (const task of this.store.tasks.inState('running')) {
      if (task.lease && task.volunteerId) {
        adopted.push(this.#leases.adopt(task.lease, task.id, task.jobId, task.volunteerId, null, expiresAt, task.outputBytes));
      } else {
        this.store.tasks.requeue(task.id, true);
      }
    }
    for (const lease of adopted) if (this.#leases.get(lease.token)) this.#lose(lease, 'the coordinator restarted');
  }

  sessions(): VolunteerSession[] {
    return [...this.#sessions.values()];
  }

  connect(hello: ParsedHello, link: VolunteerLink): Welcome {
    // Refused before anything changes: another browser's session and leases stay as they are.
    const secretHash = verifyVolunteerSecret(this.store.volunteers, hello.volunteerId, hello.secret);
    for (const [other, session] of this.#sessions) {
      // Another connection of the same volunteer, or this one saying hello twice: its session ends.
      if (session.volunteerId === hello.volunteerId || other === link) this.disconnect(other, 'replaced by a newer hello');
    }
    const session = new VolunteerSession(hello.volunteerId, hello.name, hello.cores, hello.slots, link);
    this.#sessions.set(link, session);
    this.store.volunteers.upsert({ id: hello.volunteerId, name: hello.name, cores: hello.cores, lastSeen: new Date().toISOString(), secretHash });
    const kept: string[] = [];
    for (const token of hello.leases) {
      const lease = this.#leases.get(token);
      if (lease && lease.volunteerId === hello.volunteerId && (lease.session === null || !this.#sessions.has(lease.session.link))) {
        lease.session = session;
        session.leases.add(token);
        this.#leases.renew(lease, Date.now());
        kept.push(token);
      }
    }
    const forget = new Set<string>();
    for (const taskId of new Set(hello.held.map((h) => h.taskId))) {
      const running = this.#leases.ofTask(taskId);
      if (running && kept.includes(running.token)) continue;
      const usable = hello.held.find((h) => h.taskId === taskId && this.#resumableFrom(taskId, h.seq, h.digest));
      if (usable) session.held.set(taskId, { seq: usable.seq, digest: usable.digest });
      else forget.add(taskId);
    }
    this.changes.volunteers();
    this.#scheduleDispatch();
    return { volunteerId: hello.volunteerId, heartbeatMs: HEARTBEAT_MS, leaseMs: LEASE_MS, leases: kept, forget: [...forget] };
  }

  /** The task waits to continue from coordinator checkpoint `seq`, and that is the checkpoint with this digest. */
  #resumableFrom(taskId: string, seq: number, digest: string): boolean {
    const task = this.store.tasks.get(taskId);
    const waiting = task?.state === 'queued' || task?.state === 'preempted';
    return waiting && task.resumeSeq === seq && this.store.checkpoints.digest(taskId, seq) === digest;
  }

  /** The connection is gone: every lease it held is lost and its task requeued. */
  disconnect(link: VolunteerLink, why: string): void {
    const session = this.#sessions.get(link);
    if (!session || this.#closed) return;
    this.#sessions.delete(link);
    this.#loseAll(session, why);
    this.changes.volunteers();
  }

  /** `pagehide`: the page is closing; its leases end now rather than at the socket's timeout. */
  leaving(link: VolunteerLink): void {
    const session = this.#sessions.get(link);
    if (!session) return;
    session.paused = true;
    this.#loseAll(session, 'the volunteer page closed');
    this.changes.volunteers();
  }

  setSlots(link: VolunteerLink, slots: number): void {
    const session = this.#session(link);
    session.slots = slots;
    session.paused = slots === 0;
    this.changes.volunteers();
    this.#scheduleDispatch();
  }

  /** Renews the leases the volunteer still holds; answers which of those it named are lost. */
  heartbeat(link: VolunteerLink, tokens: readonly string[]): string[] {
    const session = this.#session(link);
    if (session.silent) {
      session.silent = false;
      this.#scheduleDispatch();
    }
    const now = Date.now();
    const lost: string[] = [];
    for (const token of tokens) {
      const lease = this.#leases.get(token);
      if (lease?.session === session) this.#leases.renew(lease, now);
      else lost.push(token);
    }
    return lost;
  }

  progress(link: VolunteerLink, taskId: string, token: string, progress: number): void {
    const lease = this.#holder(link, taskId, token);
    this.store.tasks.setProgress(taskId, progress);
    this.changes.job(lease.jobId);
  }

  output(link: VolunteerLink, taskId: string, token: string, stream: OutputStream, data: Uint8Array): void {
    const { outputBytes } = this.#holder(link, taskId, token);
    const room = MAX_OUTPUT_BYTES - outputBytes[stream];
    if (room < 0) return; // already truncated: the note went past the cap
    if (room === 0) {
      // Earlier chunks filled the cap exactly: this is the first byte dropped, so say so once.
      if (data.byteLength > 0) {
        this.store.tasks.appendOutput(taskId, stream, TRUNCATED_NOTE);
        outputBytes[stream] += TRUNCATED_NOTE.byteLength;
      }
      return;
    }
    const kept = data.byteLength <= room ? data : data.subarray(0, room);
    this.store.tasks.appendOutput(taskId, stream, kept);
    outputBytes[stream] += kept.byteLength;
    if (kept !== data) {
      this.store.tasks.appendOutput(taskId, stream, TRUNCATED_NOTE);
      outputBytes[stream] += TRUNCATED_NOTE.byteLength;
    }
  }

  finish(link: VolunteerLink, taskId: string, token: string, end: Omit<TaskEnd, 'at'>): void {
    const lease = this.#holder(link, taskId, token);
    this.#endLease(lease);
    this.store.tasks.finish(taskId, { ...end, at: new Date().toISOString() });
    const job = this.store.jobs.get(lease.jobId);
    if (job && isReplicated(job)) this.#voted(job, taskId);
    else this.#taskDecided(lease.jobId, taskId, end.state === 'failed');
    this.changes.job(lease.jobId);
    this.#scheduleDispatch();
  }

  /** A replica finished and voted (replicas.ts): the index may be decided, its other replicas cancelled, volunteers outvoted. */
  #voted(job: JobRecord, taskId: string): void {
    const vote = this.#votes.finished(job, taskId);
    const at = new Date().toISOString();
    for (const replica of vote.cancel) {
      const lease = this.#leases.ofTask(replica.id);
      if (lease) {
        this.#endLease(lease);
        lease.session?.link.cancel(replica.id, 'a majority of other replicas already decided its output');
      }
      this.store.tasks.cancel(replica.id, at);
    }
    if (vote.outvoted.length > 0) this.changes.volunteers();
    if (vote.decided) this.#taskDecided(job.id, taskId, vote.decided.failed);
  }

  /** Task (index) `taskId` of the job is decided: counted, and the job ends with its last one. */
  #taskDecided(jobId: string, taskId: string, failed: boolean): void {
    const job = this.store.jobs.countFinished(jobId, failed);
    if (job.coupled && failed && job.state !== 'cancelled') return this.#coupled.fail(job, taskId);
    if (job.coupled) this.#coupled.rankFinished(job.id, taskId);
    if (job.state !== 'cancelled' && job.tasksDone >= job.tasksTotal) {
      this.store.jobs.setState(job.id, job.tasksFailed > 0 ? 'failed' : 'completed', new Date().toISOString());
      if (job.coupled) this.#coupled.forget(job.id);
    }
  }

  /** The volunteer committed a checkpoint of this task to its IndexedDB. */
  localCheckpoint(link: VolunteerLink, taskId: string, token: string, checkpoint: Omit<LocalCheckpoint, 'at'>): void {
    const lease = this.#holder(link, taskId, token);
    this.store.tasks.recordLocalCheckpoint(taskId, { ...checkpoint, at: new Date().toISOString() });
    this.changes.job(lease.jobId);
  }

  /** The volunteer gives a task back unfinished, without a checkpoint: requeued at once, from the coordinator's newest checkpoint if any. */
  release(link: VolunteerLink, taskId: string, token: string): void {
    this.#lose(this.#holder(link, taskId, token), 'released by the volunteer', false);
  }

  /**
   * Migration (API.md `POST /api/jobs/:id/tasks/:index/migrate`):
   * asks the volunteer running the task to checkpoint it, upload the
   * checkpoint and halt; `halted` then requeues it, away from that volunteer.
   */
  migrate(taskId: string): void {
    this.#coupled.refuseMigration(taskId);
    const lease = this.#leases.ofTask(taskId);
    if (!lease?.session || !this.#sessions.has(lease.session.link)) {
      throw new GridError('Conflict', `task ${taskId} is not running on a connected volunteer`);
    }
    const others = [...this.#sessions.values()].filter((s) => s.volunteerId !== lease.volunteerId && !s.paused && s.slots > 0);
    if (others.length === 0) throw new GridError('Conflict', `no other volunteer is connected to take task ${taskId}`);
    this.#halt(lease, 'migrate');
  }

  /**
   * Preempts a job (API.md `POST /api/jobs/:id/preempt`): its waiting tasks
   * wait as 'preempted', and each running one checkpoints, uploads, halts and
   * then waits likewise, until `resumeJob`.
   */
  preemptJob(job: JobRecord): void {
    this.store.jobs.setState(job.id, 'preempted');
    this.store.tasks.moveWaiting(job.id, 'queued', 'preempted');
    // A coupled job stops as a whole at its recovery line (its ranks wait there as 'preempted').
    if (job.coupled) this.#coupled.rollback(job, undefined, 'the job was preempted', false);
    else for (const lease of this.#leases.ofJob(job.id)) this.#halt(lease, 'preempt');
    this.changes.job(job.id);
  }

  /** Queues a preempted job's tasks again, for any volunteer. */
  resumeJob(job: JobRecord): void {
    this.store.tasks.moveWaiting(job.id, 'preempted', 'queued');
    this.store.jobs.setState(job.id, this.#leases.ofJob(job.id).length > 0 ? 'running' : 'queued');
    this.changes.job(job.id);
    this.#scheduleDispatch();
  }

  /** Asks for a checkpoint of every running task of the job now (API.md `POST /api/jobs/:id/checkpoint`). */
  checkpointJob(job: JobRecord): void {
    if (job.coupled) return this.#coupled.checkpointNow(job.id);
    for (const lease of this.#leases.ofJob(job.id)) lease.session?.link.checkpointNow(lease.taskId);
  }

  /** Frames from one rank of a coupled job to another (relay.ts); from a stale lease (a rollback just happened) they are dropped. */
  relay(link: VolunteerLink, taskId: string, token: string, to: number, data: Uint8Array): void {
    const lease = this.#leases.get(token);
    if (!lease || lease.taskId !== taskId || lease.session?.link !== link) return;
    this.#coupled.relay(lease, to, data);
  }

  /** The rank stopped for coordinated checkpoint `round` with its checkpoint `seq` (coordinated-checkpoints.ts). */
  enterRound(link: VolunteerLink, taskId: string, token: string, round: number, seq: number): void {
    this.#coupled.enterRound(this.#holder(link, taskId, token), round, seq);
  }

  /** Message-layer counters a rank reports, summed per job. */
  rankStats(link: VolunteerLink, taskId: string, token: string, delta: MessageCounters): void {
    this.#coupled.addStats(this.#holder(link, taskId, token), delta);
  }

  /** A checkpoint reached the coordinator; answers whether the task is a rank of a coupled job (whose chain is not compacted: rollbacks need older checkpoints). */
  checkpointStored(taskId: string): boolean {
    return this.#coupled.checkpointStored(taskId);
  }

  /** Slots a coupled job waits for before its ranks can start together, if it waits. */
  gangWaiting(jobId: string): { needed: number; free: number } | undefined {
    return this.#dispatcher.waitingGangs.get(jobId);
  }

  /** Asks the lease's volunteer to checkpoint the task and halt it; `halted` (or its loss) then requeues it. */
  #halt(lease: Held, why: NonNullable<Held['halting']>): void {
    if (lease.halting === 'migrate' && why !== 'migrate') return; // a move already under way keeps its destination rule
    const asked = lease.halting !== undefined;
    lease.halting = why;
    // A lease whose volunteer is away (after a coordinator restart) expires, and its task is requeued the same way.
    if (!asked) lease.session?.link.halt(lease.taskId, why === 'migrate' ? 'migrate' : 'preempt');
  }

  /**
   * The volunteer stopped the task after checkpoint `seq`, which the
   * coordinator holds (asked to, or its own pause). It goes back to the queue
   * to continue from there: on another volunteer if it was a migration, as
   * 'preempted' while its job is.
   */
  halted(link: VolunteerLink, taskId: string, token: string, seq: number): void {
    const lease = this.#holder(link, taskId, token);
    const manifest = this.store.checkpoints.get(taskId, seq);
    if (!manifest) throw new GridError('Conflict', `task ${taskId}: the coordinator holds no checkpoint ${seq}; upload it first`);
    this.#endLease(lease);
    this.#requeueFrom(lease, manifest.seq, manifest.state, false, 'halted after a checkpoint');
  }

  /** The task continues from checkpoint `seq`, as its volunteer says: recorded in its `resumes`. */
  resumed(link: VolunteerLink, taskId: string, token: string, seq: number, from: 'local' | 'coordinator'): void {
    const lease = this.#holder(link, taskId, token);
    const task = this.store.tasks.get(taskId);
    if (task?.resumeSeq !== seq) {
      throw new GridError('Conflict', `task ${taskId} was given to resume from checkpoint ${task?.resumeSeq ?? 'none'}, not ${seq}`);
    }
    this.store.checkpoints.recordResume(taskId, { from, seq, at: new Date().toISOString() });
    this.changes.job(lease.jobId);
  }

  /** Stops every running task of a cancelled job. */
  cancelJob(job: JobRecord): void {
    const at = new Date().toISOString();
    if (job.coupled) this.#coupled.forget(job.id);
    for (const lease of this.#leases.ofJob(job.id)) {
      this.#endLease(lease);
      lease.session?.link.cancel(lease.taskId, 'the job was cancelled');
    }
    for (const task of this.store.tasks.forJob(job.id)) {
      if (task.state === 'queued' || task.state === 'running' || task.state === 'preempted') this.store.tasks.cancel(task.id, at);
    }
    this.store.jobs.setState(job.id, 'cancelled', at);
    this.changes.job(job.id);
    this.#scheduleDispatch();
  }

  /** A job was created or requeued: look for volunteers. */
  tasksQueued(): void {
    this.#scheduleDispatch();
  }

  /** Stops sweeping and dispatching; running tasks keep their leases for the next start. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#coupled.close();
  }

  #session(link: VolunteerLink): VolunteerSession {
    const session = this.#sessions.get(link);
    if (!session) throw new GridError('Conflict', 'say hello first: this connection is not a known volunteer');
    return session;
  }

  /** The lease, if this connection holds it for this task; otherwise a StaleLease error. */
  holder(link: VolunteerLink, taskId: string, token: string): Held {
    return this.#holder(link, taskId, token);
  }

  #holder(link: VolunteerLink, taskId: string, token: string): Held {
    const lease = this.#leases.get(token);
    if (!lease || lease.taskId !== taskId || lease.session?.link !== link) {
      throw new GridError('StaleLease', `task ${taskId}: this volunteer holds no valid lease for it (lost or reassigned)`);
    }
    return lease;
  }

  #endLease(lease: Held): void {
    this.#leases.end(lease);
    lease.session?.leases.delete(lease.token);
  }

  /**
   * Ends a lease and puts its task back in the queue, to continue from its
   * newest coordinator checkpoint if there is one, else from the start;
   * `lost` counts a restart.
   */
  #lose(lease: Held, why: string, lost = true): void {
    const job = this.store.jobs.get(lease.jobId);
    if (job?.coupled && (job.state === 'running' || job.state === 'queued')) return this.#coupled.rollback(job, lease, why, lost);
    this.#endLease(lease);
    const task = this.store.tasks.get(lease.taskId);
    if (task?.state === 'running' && task.lease === lease.token) {
      const newest = this.store.checkpoints.newest(lease.taskId);
      if (newest) return this.#requeueFrom(lease, newest.seq, newest.state, lost, why);
      log.info(`task ${lease.taskId} requeued: ${why}`);
      this.store.tasks.requeue(lease.taskId, lost);
      this.changes.job(lease.jobId);
    }
    this.#scheduleDispatch();
  }

  /** Requeues the (already unleased) task to continue from coordinator checkpoint `seq`, its output cut to what `state` records. */
  #requeueFrom(lease: Held, seq: number, state: JsonValue, lost: boolean, why: string): void {
    const output = outputOffsetsOf(state) ?? { stdout: 0, stderr: 0 };
    const stored = this.store.tasks.get(lease.taskId)?.outputBytes;
    if (stored && (stored.stdout < output.stdout || stored.stderr < output.stderr)) {
      log.warn(`task ${lease.taskId}: checkpoint ${seq} counts output ${JSON.stringify(output)} but only ${JSON.stringify(stored)} arrived`);
    }
    log.info(`task ${lease.taskId} requeued to resume from checkpoint ${seq}: ${why}`);
    this.store.tasks.requeueFrom(lease.taskId, seq, output, { lost, ...(lease.halting === 'migrate' ? { avoid: lease.volunteerId } : {}) });
    this.changes.job(lease.jobId);
    this.#scheduleDispatch();
  }

  #loseAll(session: VolunteerSession, why: string): void {
    for (const token of [...session.leases]) {
      const lease = this.#leases.get(token);
      if (lease) this.#lose(lease, why);
    }
  }

  #expire(): void {
    for (const lease of this.#leases.expired(Date.now())) {
      if (lease.session) lease.session.silent = true;
      lease.session?.link.cancel(lease.taskId, 'its lease expired');
      this.#lose(lease, 'its lease expired (no heartbeat)');
    }
  }

  #scheduleDispatch(): void {
    if (this.#dispatchPending || this.#closed) return;
    this.#dispatchPending = true;
    setImmediate(() => {
      this.#dispatchPending = false;
      if (this.#closed) return; // closed meanwhile: the store may be gone
      try {
        this.#dispatcher.dispatch();
      } catch (error) {
        log.error('dispatch failed', error);
      }
    });
  }
}
