import type { JobRecord, ProgramRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';

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
}
