/**
 * Tells open dashboards what changed, coalesced: at most one `jobs:changed`
 * (with every job id that changed) and one `volunteers:changed` per interval,
 * so a thousand task updates a second cost the dashboards four messages.
 */
import type { ChangeListener } from '../scheduler/scheduler.ts';

/** @default 250 ms between notices */
const FLUSH_MS = 250;

export interface ChangeSink {
  jobs(ids: string[]): void;
  volunteers(): void;
}

export class ChangeFeed implements ChangeListener {
  readonly #jobs = new Set<string>();
  #volunteers = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly sink: ChangeSink,
    private readonly flushMs = FLUSH_MS,
  ) {}

  job(id: string): void {
    this.#jobs.add(id);
    this.#arm();
  }

  volunteers(): void {
    this.#volunteers = true;
    this.#arm();
  }

  close(): void {
    clearTimeout(this.#timer);
  }

  #arm(): void {
    this.#timer ??= setTimeout(() => this.#flush(), this.flushMs);
  }

  #flush(): void {
    this.#timer = undefined;
    if (this.#jobs.size > 0) this.sink.jobs([...this.#jobs]);
    if (this.#volunteers) this.sink.volunteers();
    this.#jobs.clear();
    this.#volunteers = false;
  }
}
