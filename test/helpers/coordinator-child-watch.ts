/**
 * Crash tests against a coordinator child process: what counts as
 * acknowledged before a `kill -9`, the moment a kill lands in, and the check
 * after the restart that nothing acknowledged was lost.
 *
 * A job view read over HTTP may show writes of the group commit's batch
 * still open (the GET reads through the same connection). Those are not
 * acknowledged yet, and a kill may rightly lose them. But once a later GET
 * has been answered, that batch has committed (it commits at the end of the
 * event-loop turn, before any later request is handled): so what the
 * next-to-last view showed is durable, and that is what is held against the
 * restarted coordinator.
 */
import type { JobView } from '../../shared/http-api.ts';
import type { ApiClient } from './api-client.ts';

/** How often the moment watcher reads the jobs. */
const WATCH_POLL_MS = 40;

/** Where in the coordinator's work a kill landed, as far as the job views show it. */
export type KillMoment = 'mid-upload' | 'mid-round' | 'anytime';

export interface Observed {
  /** Durable: the view before the newest. */
  acknowledged: JobView[];
  /** The newest view (may include writes not yet committed). */
  latest: JobView[];
}

/** Reads the jobs `ids`, keeping the previous read as the acknowledged one. */
export class JobWatch {
  #previous: JobView[] | undefined;
  #latest: JobView[] | undefined;

  constructor(
    private api: ApiClient,
    /** The jobs to read (it may grow). */
    private readonly ids: () => readonly string[],
  ) {}

  /** After a restart: a new client; what was acknowledged before the kill stays the baseline until the new process has answered twice. */
  reconnect(api: ApiClient, acknowledged: JobView[]): void {
    this.api = api;
    this.#previous = acknowledged;
    this.#latest = undefined;
  }

  async read(): Promise<Observed> {
    const views = await Promise.all(this.ids().map((id) => this.api.job(id)));
    this.#previous = this.#latest ?? this.#previous ?? [];
    this.#latest = views;
    return { acknowledged: this.#previous, latest: views };
  }
}

/** A task with a checkpoint committed in its volunteer's IndexedDB that the coordinator does not hold yet: its upload is under way. */
function uploading(view: JobView): string | undefined {
  for (const task of view.tasks) {
    if (task.state !== 'running') continue;
    const local = task.localCheckpoints.at(-1)?.seq ?? 0;
    const held = task.lastCheckpoint?.seq ?? 0;
    if (local > held) return `task ${task.index}: checkpoint ${local} committed locally, ${held || 'none'} held`;
  }
  return undefined;
}

/**
 * Polls until the jobs are at `aim` (an independent task's upload under way;
 * a coupled job's round entered by a rank but not yet its recovery line),
 * then returns at once, so the caller's kill lands in it; `anytime` after
 * `timeoutMs` without one.
 */
export async function awaitMoment(watch: JobWatch, aim: KillMoment, timeoutMs: number): Promise<{ moment: KillMoment; detail: string; observed: Observed }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const observed = await watch.read();
    if (aim !== 'anytime') {
      for (const view of observed.latest) {
        if (view.state !== 'running' || view.coupled !== (aim === 'mid-round')) continue;
        const detail = uploading(view);
        if (detail) return { moment: aim, detail: `${view.programName}: ${detail}`, observed };
      }
    }
    if (aim === 'anytime' || Date.now() > deadline) return { moment: 'anytime', detail: '', observed };
    await new Promise((resolve) => setTimeout(resolve, WATCH_POLL_MS));
  }
}

/**
 * What the restarted coordinator must still show of `before` (acknowledged):
 * a finished independent task stays finished; a task's newest checkpoint is
 * at least as new (or the task has finished since); a coupled job's
 * recovery line does not go back; a completed job stays completed. Returns
 * the violations (empty: nothing lost).
 */
export function lostSince(before: readonly JobView[], after: readonly JobView[]): string[] {
  const lost: string[] = [];
  for (const was of before) {
    const now = after.find((view) => view.id === was.id);
    if (!now) {
      lost.push(`job ${was.id} is gone`);
      continue;
    }
    if (was.state === 'completed' && now.state !== 'completed') lost.push(`job ${was.id} was completed, now ${now.state}`);
    if (now.state === 'completed') continue;
    if (was.coupled) {
      // A rank's newest checkpoint may be replaced by a rollback's re-run; the recovery line is what was acknowledged for all of them.
      if ((now.recoveryLine ?? 0) < (was.recoveryLine ?? 0)) lost.push(`job ${was.id}: recovery line ${was.recoveryLine} became ${now.recoveryLine}`);
      continue;
    }
    for (const task of was.tasks) {
      const current = now.tasks.find((t) => t.index === task.index)!;
      if (task.state === 'completed' && current.state !== 'completed') lost.push(`job ${was.id} task ${task.index} was completed, now ${current.state}`);
      if (current.state === 'completed' || !task.lastCheckpoint) continue;
      const seq = current.lastCheckpoint?.seq ?? 0;
      if (seq < task.lastCheckpoint.seq) lost.push(`job ${was.id} task ${task.index}: checkpoint ${task.lastCheckpoint.seq} acknowledged, ${seq || 'none'} held now`);
    }
  }
  return lost;
}
