/**
 * Jobs as owners post them (API.md `POST /api/jobs`): a program, and either one
 * task, independent tasks, or the ranks of one coupled computation.
 */
import { randomBytes } from 'node:crypto';
import { GridError } from '../../shared/errors.ts';
import type { PostJobBody } from '../../shared/http-api.ts';
import { DEFAULT_CHECKPOINT_INTERVAL_MS, DEFAULT_PAGE_SIZE } from '../../shared/limits.ts';
import type { ProgramService } from '../programs/program-service.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { taskId } from '../store/records.ts';
import type { JobRecord, NewTask } from '../store/records.ts';
import type { Store } from '../store/store.ts';

/** A per-task seed for `random_get`: the same task always sees the same random bytes. */
export function taskSeed(jobId: string, index: number): number {
  let hash = 0x811c9dc5;
  for (const char of `${jobId}/${index}`) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash >>> 0;
}

export class JobService {
  constructor(
    private readonly store: Store,
    private readonly programs: ProgramService,
    private readonly scheduler: Scheduler,
  ) {}

  create(body: PostJobBody): JobRecord {
    const program = this.programs.resolve(body.program);
    const id = `j${randomBytes(5).toString('hex')}`;
    const ranks = body.ranks ?? 1;
    const taskArgs = body.tasks ? body.tasks.map((t) => t.args) : Array.from({ length: ranks }, () => body.args ?? []);
    // With redundancy k, each index starts as k replicas (same args and seed); replicas.ts may add more.
    const redundancy = body.redundancy ?? 1;
    const tasks: NewTask[] = taskArgs.flatMap((args, index) =>
      Array.from({ length: redundancy }, (_, replica) => ({ id: taskId(id, index, replica), index, replica, args, seed: taskSeed(id, index) })),
    );
    this.store.jobs.insert(
      {
        id,
        name: body.name ?? program.name,
        programId: program.id,
        args: body.args ?? [],
        env: body.env ?? {},
        ranks,
        coupled: ranks > 1,
        priority: body.priority ?? 0,
        checkpointIntervalMs: body.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
        pageSize: body.pageSize ?? DEFAULT_PAGE_SIZE,
        redundancy,
        state: 'queued',
        tasksTotal: taskArgs.length,
        createdAt: new Date().toISOString(),
      },
      tasks,
    );
    this.scheduler.tasksQueued();
    return this.get(id);
  }

  get(id: string): JobRecord {
    const job = this.store.jobs.get(id);
    if (!job) throw new GridError('NotFound', `no job with id "${id}"`);
    return job;
  }

  /** Slots a coupled job waits for to start its ranks together, if it waits. */
  gangWaiting(id: string): { needed: number; free: number } | undefined {
    return this.scheduler.gangWaiting(id);
  }

  cancel(id: string): void {
    const job = this.get(id);
    if (job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled') {
      throw new GridError('Conflict', `job ${id} is already ${job.state}`);
    }
    this.scheduler.cancelJob(job);
  }

  /** Halts the job's running tasks through checkpoints and holds its waiting ones until `resume`. */
  preempt(id: string): void {
    const job = this.get(id);
    if (job.state !== 'queued' && job.state !== 'running') throw new GridError('Conflict', `job ${id} is ${job.state}: only a queued or running job can be preempted`);
    this.scheduler.preemptJob(job);
  }

  /** Queues a preempted job's tasks again; each continues from its newest checkpoint on the coordinator. */
  resume(id: string): void {
    const job = this.get(id);
    if (job.state !== 'preempted') throw new GridError('Conflict', `job ${id} is ${job.state}, not preempted`);
    this.scheduler.resumeJob(job);
  }

  /** Asks every running task of the job for a checkpoint now (each is uploaded like any other). */
  checkpoint(id: string): void {
    const job = this.get(id);
    if (job.state !== 'running') throw new GridError('Conflict', `job ${id} is ${job.state}, not running`);
    this.scheduler.checkpointJob(job);
  }

  /** Moves a running task to another volunteer through a checkpoint (Scheduler.migrate). `index` as it came in the URL. */
  migrate(id: string, index: string): void {
    const job = this.get(id);
    const n = Number(index);
    // Of a replicated job's index, the replica running (if any).
    const replicas = /^\d+$/.test(index) ? this.store.tasks.forJob(job.id).filter((t) => t.index === n) : [];
    const task = replicas.find((t) => t.state === 'running') ?? replicas[0];
    if (!task) throw new GridError('NotFound', `job ${job.id} has no task ${index}`);
    if (task.state !== 'running') throw new GridError('Conflict', `task ${index} of job ${job.id} is ${task.state}, not running`);
    this.scheduler.migrate(task.id);
  }
}
