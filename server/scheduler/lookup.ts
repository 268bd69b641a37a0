import type { JobRecord, ProgramRecord, TaskRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { isReplicated } from './replicas.ts';

/** Jobs and programs read once per dispatch. */
export class Lookup {
  readonly #jobs = new Map<string, JobRecord | undefined>();
  readonly #programs = new Map<string, ProgramRecord | undefined>();

  constructor(private readonly store: Store) {}

  job(id: string): JobRecord | undefined {
    if (!this.#jobs.has(id)) this.#jobs.set(id, this.store.jobs.get(id));
    return this.#jobs.get(id);
  }

  program(id: string): ProgramRecord | undefined {
    if (!this.#programs.has(id)) this.#programs.set(id, this.store.programs.get(id));
    return this.#programs.get(id);
  }

  /** Whether the volunteer may run this task: any task of an unreplicated job; of a replicated one, no second replica of an index (replicas.ts). */
  mayRun(task: TaskRecord, volunteerId: string): boolean {
    const job = this.job(task.jobId);
    return !job || !isReplicated(job) || this.store.replicas.mayRun(task, volunteerId);
  }
}
