/**
 * The checkpoint worker's loop, one per task (DESIGN.md §4): it waits for a
 * protected interval, saves it (checkpoint-session.ts), reports, and waits
 * again. It polls the tracker's PROTECTED word on a short timer instead of
 * parking in `Atomics.waitAsync`: waking such a waiter made the notifying
 * compute thread stall for 1–7 ms (LIMITS.md, "A probe of the checkpoint
 * design"), and this worker must never block (IndexedDB needs its event loop).
 */
import { TrackerWord } from '../../shared/tracker-layout.ts';
import { createYielder } from '../runtime/event-loop-yield.ts';
import type { Yielder } from '../runtime/event-loop-yield.ts';
import { saveCheckpoint } from './checkpoint-session.ts';
import type { CheckpointReport, SessionOptions } from './checkpoint-session.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { requestCheckpoint } from './tracker-words.ts';

/** How often an idle loop looks at PROTECTED (browsers clamp nested timers to ~4 ms after a few levels). */
export const POLL_MS = 1;

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
   * IndexedDB refused a commit for want of space: checkpoints are saved in
   * memory only from then on (memory-writer.ts), made durable by the upload
   * alone. Their manifests stay here, for the upload to read.
   */
  private inMemory = false;
  private readonly memoryManifests = new Map<number, CheckpointManifest>();

  constructor(private readonly options: CheckpointLoopOptions) {
    this.trackerWords = new Int32Array(options.buffers.tracker);
    this.parent = options.parent;
  }

  start(): void {
    const { intervalMs } = this.options;
    if (intervalMs !== undefined) this.nextRequestAt = performance.now() + intervalMs;
    this.schedule();
  }

  /** A checkpoint saved in memory only (after IndexedDB filled up), if it is one. */
  memoryManifest(seq: number): CheckpointManifest | undefined {
    return this.memoryManifests.get(seq);
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
      if (report.manifest) this.memoryManifests.set(report.seq, report.manifest);
      delete report.manifest;
      this.parent = report.seq;
      options.onCommitted(report);
    } catch (error) {
      options.onFailed(k, error);
      // Only an upload can carry segments away, so only a loop that hands them to the page may fall back to memory.
      if (isQuotaError(error) && options.writer?.keepSegments && !this.inMemory) {
        this.inMemory = true;
        console.warn(`${options.taskId}: IndexedDB is full; checkpoints are kept in memory until the coordinator holds them`);
      }
      // Best effort: drop the failed checkpoint's segments (no commit of this task is in flight now).
      await options.store.prune(options.taskId).catch(() => undefined);
    }
  }
}

/** IndexedDB's "no room": a QuotaExceededError, possibly as the cause of an aborted transaction. */
function isQuotaError(error: unknown): boolean {
  if (!(error instanceof Error) && !(error instanceof DOMException)) return false;
  return error.name === 'QuotaExceededError' || isQuotaError((error as { cause?: unknown }).cause);
}
