/**
 * Storage hygiene on the coordinator (issue 5): deletes what no one will
 * read again, periodically and at start-up.
 *
 * - Checkpoints of finished jobs (completed, failed, cancelled), once the job
 *   has been finished for `checkpointGraceMs` (time to inspect them).
 * - Blobs that no checkpoint, program or instrumented module names, once
 *   untouched for `blobGraceMs` (blob-store.ts: a write or a `has` touches
 *   one). The grace is what keeps a segment uploaded before its manifest, or
 *   an old segment a volunteer may still be fetching.
 *
 * Crash safety: a blob is deleted only when the write that stopped naming it
 * is on disk: the sweep commits the open group-commit batch before asking,
 * in the same turn of the event loop as the delete.
 */
import { setImmediate } from 'node:timers/promises';
import { logger } from '../logger.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { Store } from '../store/store.ts';

const log = logger('checkpoint-gc');

/** Default for both graces: 10 minutes. */
export const DEFAULT_GRACE_MS = 10 * 60_000;
/** Default time between sweeps. */
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
/** Tasks whose checkpoints one write deletes (a write is a SQLite batch: kept short). */
const TASKS_PER_WRITE = 50;

export interface CheckpointGcOptions {
  /** How long a blob nothing names is kept after its last write or use. @default DEFAULT_GRACE_MS */
  blobGraceMs?: number;
  /** How long a finished job's checkpoints are kept after it finished. @default DEFAULT_GRACE_MS */
  checkpointGraceMs?: number;
  /** @default DEFAULT_SWEEP_INTERVAL_MS */
  intervalMs?: number;
}

export interface SweepReport {
  /** Tasks of finished jobs whose checkpoints were deleted. */
  tasks: number;
  blobs: number;
  bytes: number;
}

/** `GRID_CHECKPOINT_GRACE_MS`, the finished-job grace, if set. */
export function checkpointGraceFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.GRID_CHECKPOINT_GRACE_MS;
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`GRID_CHECKPOINT_GRACE_MS: expected a whole number of milliseconds, got "${raw}"`);
  return ms;
}

export class CheckpointGc {
  readonly #blobGraceMs: number;
  readonly #checkpointGraceMs: number;
  readonly #intervalMs: number;
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<SweepReport> | undefined;

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    options: CheckpointGcOptions = {},
  ) {
    this.#blobGraceMs = options.blobGraceMs ?? DEFAULT_GRACE_MS;
    this.#checkpointGraceMs = options.checkpointGraceMs ?? DEFAULT_GRACE_MS;
    this.#intervalMs = options.intervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  }

  /** Sweeps now and then every `intervalMs` (the timer does not keep the process alive). */
  start(): void {
    const run = () =>
      void this.sweep().catch((error: unknown) => {
        if (!this.#stop.signal.aborted) log.error('sweep failed', error);
      });
    run();
    this.#timer = setInterval(run, this.#intervalMs).unref();
  }

  /** One sweep, as if the time were `now`; joins the sweep in progress instead of starting a second. */
  sweep(now = Date.now()): Promise<SweepReport> {
    this.#sweeping ??= this.#sweep(now).finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  /** Stops the timer and the sweep in progress (call before closing the store). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#stop.abort();
    await this.#sweeping?.catch(() => {});
  }

  async #sweep(now: number): Promise<SweepReport> {
    const signal = this.#stop.signal;
    let tasks = 0;
    const finishedBefore = new Date(now - this.#checkpointGraceMs).toISOString();
    while (!signal.aborted) {
      const n = this.store.checkpoints.deleteOfJobsFinishedBefore(finishedBefore, TASKS_PER_WRITE);
      tasks += n;
      if (n < TASKS_PER_WRITE) break;
      await setImmediate();
    }
    const inUse = (hash: string) => {
      this.store.commit.commit(); // see the header: what the answer rests on must be durable first
      return this.store.checkpoints.blobInUse(hash);
    };
    const { deleted, bytes } = signal.aborted ? { deleted: 0, bytes: 0 } : await this.blobs.deleteUnused(now - this.#blobGraceMs, inUse, signal);
    if (tasks + deleted > 0) log.info(`deleted the checkpoints of ${tasks} finished tasks and ${deleted} unused blobs (${bytes} bytes)`);
    return { tasks, blobs: deleted, bytes };
  }
}
