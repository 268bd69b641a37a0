/**
 * The checkpoint worker's loop, one per task (DESIGN.md §4): it waits for a
 * protected interval, saves it (checkpoint-session.ts), reports, and waits
 * again. It polls the tracker's PROTECTED word on a short timer instead of
 * parking in `Atomics.waitAsync`: waking such a waiter made the notifying
 * compute thread stall for 1–7 ms (LIMITS.md, "A probe of the checkpoint
 * design"), and this worker must never block (IndexedDB needs its event loop).
 */
import { PageState, TRACKER_HEADER_WORDS, TrackerWord } from '../../shared/tracker-layout.ts';
import { createYielder } from '../runtime/event-loop-yield.ts';
import type { Yielder } from '../runtime/event-loop-yield.ts';
import { saveCheckpoint } from './checkpoint-session.ts';
import { PageScan } from './page-scan.ts';
import type { CheckpointReport, SessionOptions } from './checkpoint-session.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { requestCheckpoint } from './tracker-words.ts';

/** How often an idle loop looks at PROTECTED (browsers clamp nested timers to ~4 ms after a few levels). */
export const POLL_MS = 1;

/**
 * Manifests kept for the upload at most (the oldest go first; they are read
 * from IndexedDB then, if it still holds them): a bound for a loop whose
 * checkpoints nobody uploads (benchmarks), far above what an upload lags.
 */
const MAX_UNACKNOWLEDGED = 1_000;

/** Why a loop keeps checkpoints for the coordinator only: IndexedDB is full, or the browser deleted the database. */
export type CoordinatorOnlyReason = 'quota' | 'lost';

const COORDINATOR_ONLY_WHY: Record<CoordinatorOnlyReason, string> = {
  quota: 'IndexedDB is full',
  lost: 'the IndexedDB database was deleted (site data cleared)',
};

/** What each checkpoint's session needs, plus where its outcome goes; `parent` is the newest committed checkpoint at start. */
export interface CheckpointLoopOptions extends Omit<SessionOptions, 'suspension' | 'yieldNow'> {
  /**
   * Asks for a checkpoint this often (ms), counted from the previous request;
   * a request due while one is saved is made as soon as it commits. Requests
   * come from here rather than the page because a hidden tab's timers are
   * throttled to once a minute and a worker's are not. Omit to request none.
   */
  intervalMs?: number;
  onCommitted: (report: CheckpointReport) => void;
  onFailed: (seq: number, error: unknown) => void;
  /** Checkpoints are kept for the coordinator only from now on (said once). */
  onCoordinatorOnly?: (reason: CoordinatorOnlyReason) => void;
}

export class CheckpointLoop {
  private readonly trackerWords: Int32Array;
  private readonly yielder: Yielder = createYielder();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private parent: number | null;
  /** The checkpoint being saved, if any. */
  private saving: Promise<void> | undefined;
  private nextRequestAt = Infinity;
  /** Other work on the store (compaction) is under way: no checkpoint starts meanwhile. */
  private busy = false;
  /**
   * IndexedDB refused a commit for want of space, or the browser deleted the
   * database under us (site data cleared): checkpoints are saved in memory
   * only from then on (memory-writer.ts), made durable by the upload alone.
   */
  private inMemory = false;
  /**
   * The manifests of checkpoints this loop committed that the coordinator may
   * not hold yet, by seq. The upload reads chains here first, so it goes on
   * when those in IndexedDB are gone with the database or were never written.
   */
  private readonly unacknowledged = new Map<number, CheckpointManifest>();

  constructor(private readonly options: CheckpointLoopOptions) {
    this.trackerWords = new Int32Array(options.buffers.tracker);
    this.parent = options.parent;
  }

  start(): void {
    const { intervalMs } = this.options;
    if (intervalMs !== undefined) this.nextRequestAt = performance.now() + intervalMs;
    this.schedule();
  }

  /** Committed checkpoint `seq`, if the coordinator may not hold it yet. */
  manifest(seq: number): CheckpointManifest | undefined {
    return this.unacknowledged.get(seq);
  }

  /** The coordinator holds checkpoint `seq`: no upload reads it or older ones from here again. */
  acknowledged(seq: number): void {
    for (const held of this.unacknowledged.keys()) if (held <= seq) this.unacknowledged.delete(held);
  }

  /** Stops polling; resolves once a checkpoint being saved has committed or failed. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.saving;
    this.yielder.close();
  }

  private schedule(): void {
    if (!this.closed) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  /**
   * Runs `work` between two checkpoints: after the one being saved, and with
   * none starting until it is done (a requested one waits; the program runs on).
   */
  async between<T>(work: () => Promise<T>): Promise<T> {
    while (this.saving) await this.saving;
    this.busy = true;
    try {
      return await work();
    } finally {
      this.busy = false;
    }
  }

  private poll(): void {
    if (this.busy) return this.schedule();
    const now = performance.now();
    if (now >= this.nextRequestAt) {
      requestCheckpoint(this.options.buffers.tracker);
      this.nextRequestAt = now + this.options.intervalMs!;
    }
    const k = Atomics.load(this.trackerWords, TrackerWord.PROTECTED);
    if (k === 0) return this.schedule();
    this.saving = this.save(k).finally(() => {
      this.saving = undefined;
      this.schedule();
    });
  }

  private async save(k: number): Promise<void> {
    const { options } = this;
    if (options.store.lost) this.keepForCoordinatorOnly('lost');
    try {
      const report = await saveCheckpoint({
        store: options.store,
        buffers: options.buffers,
        channel: options.channel,
        memory: options.memory,
        taskId: options.taskId,
        parent: this.parent,
        suspension: options.channel.readSuspension(k),
        yieldNow: () => this.yielder.yield(),
        ...(options.writer ? { writer: options.writer } : {}),
        inMemory: this.inMemory,
      });
      if (report.manifest) this.unacknowledged.set(report.seq, report.manifest);
      if (this.unacknowledged.size > MAX_UNACKNOWLEDGED) this.unacknowledged.delete(this.unacknowledged.keys().next().value!);
      delete report.manifest;
      this.parent = report.seq;
      options.onCommitted(report);
    } catch (error) {
      options.onFailed(k, error);
      if (isQuotaError(error)) this.keepForCoordinatorOnly('quota');
      // The `close` event that marks the store lost may come after the failures it caused.
      else if (options.store.lost || isClosedConnectionError(error)) this.keepForCoordinatorOnly('lost');
      // A save that threw before releasing k must not be tried again: it would find only the pages it had not
      // claimed yet, and commit an incomplete checkpoint k.
      if (Atomics.load(this.trackerWords, TrackerWord.PROTECTED) === k) await this.releaseUnsaved();
      // Best effort: drop the failed checkpoint's segments (no commit of this task is in flight now).
      if (!options.store.lost) await options.store.prune(options.taskId).catch(() => undefined);
    }
  }

  /**
   * Releases the protected checkpoint without saving it: pages the failed
   * save held (SAVING) are let go, those still protected are taken and
   * dropped, the pool is drained, and the next checkpoint must be a rebuild
   * (every page written since the tracker began), so nothing is missing.
   */
  private async releaseUnsaved(): Promise<void> {
    this.options.channel.requireRebuild(); // before the release: the compute side sees it with PROTECTED = 0
    const words = this.trackerWords;
    for (let index = TRACKER_HEADER_WORDS; index < words.length; index++) {
      if (Atomics.load(words, index) !== PageState.SAVING) continue;
      Atomics.store(words, index, PageState.SAVED);
      Atomics.notify(words, index); // a writer may wait for it
    }
    const scan = new PageScan(this.options.buffers, this.options.memory, () => {});
    while (scan.step() !== 'done') await this.yielder.yield();
    scan.finish();
  }

  /**
   * Saves checkpoints in memory from now on. Only an upload can carry their
   * segments away, so only a loop that hands them to the page may do so;
   * the chain goes on from the newest committed checkpoint, whose manifest
   * is kept here until the coordinator holds it.
   */
  private keepForCoordinatorOnly(reason: CoordinatorOnlyReason): void {
    if (this.inMemory || !this.options.writer?.keepSegments) return;
    this.inMemory = true;
    console.warn(`${this.options.taskId}: ${COORDINATOR_ONLY_WHY[reason]}; checkpoints are kept in memory until the coordinator holds them`);
    this.options.onCoordinatorOnly?.(reason);
  }
}

/** A transaction on a connection the browser closed (the database was deleted under it). */
function isClosedConnectionError(error: unknown): boolean {
  return (error instanceof Error || error instanceof DOMException) && error.name === 'InvalidStateError';
}

/** IndexedDB's "no room": a QuotaExceededError, possibly as the cause of an aborted transaction. */
function isQuotaError(error: unknown): boolean {
  if (!(error instanceof Error) && !(error instanceof DOMException)) return false;
  return error.name === 'QuotaExceededError' || isQuotaError((error as { cause?: unknown }).cause);
}
