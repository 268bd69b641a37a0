/**
 * Uploads a task's checkpoints to the coordinator as they are committed
 * locally (DESIGN.md §5; claims 54–56). A checkpoint counts only once the
 * coordinator acknowledged its manifest.
 *
 * Backpressure without stalling the computation: one upload runs at a time,
 * in the page, while the task and its checkpoint worker go on. Checkpoints
 * committed meanwhile are not queued: when the upload ends, only the newest
 * one goes next, and its chain carries the segments of those it skipped.
 * Segments the coordinator already holds (by hash) are not sent; a few are
 * in flight at once. A checkpoint's segments come with its commit report, so
 * they are sent from memory, not read back from IndexedDB (which the
 * checkpoint worker is busy writing); past a memory budget they are dropped
 * and read back from IndexedDB when their turn comes.
 */
import { chainSegments } from '../../shared/checkpoint-format.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { CheckpointTransport } from './checkpoint-transport.ts';
import { inWindows } from './checkpoint-transport.ts';

/**
 * Segments (~1 MiB each) in flight at once: enough to keep the link busy
 * while the coordinator stores one, few enough that a heartbeat or a
 * socket.io pong queued behind them is not held up for long on a slow link.
 */
const WINDOW = 2;
/** Bytes of committed segments held for the upload; beyond, they are read back from IndexedDB. */
const HELD_BYTES = 256 << 20;

/** Where committed checkpoints are read from (the task's checkpoint worker). */
export interface CommittedSource {
  /** The chain of committed checkpoint `seq`, base first; it may stop above `after`, which the coordinator holds. */
  chain(seq: number, after?: number): Promise<CheckpointManifest[]>;
  segments(hashes: string[]): Promise<ArrayBuffer[]>;
}

/** One finished upload, for whoever watches throughput. */
export interface UploadRecord {
  taskId: string;
  seq: number;
  segments: number;
  bytes: number;
  ms: number;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class CheckpointUploader {
  /** The newest checkpoint the coordinator acknowledged, or null. */
  acknowledged: number | null;
  #newest = 0;
  /** An upload (or a run of them) is under way. */
  #draining = false;
  readonly #waiters: Waiter[] = [];
  /** Bytes of segments committed but not yet on the coordinator, by hash. */
  readonly #held = new Map<string, ArrayBuffer>();
  #heldBytes = 0;

  constructor(
    private readonly task: Pick<TaskAssignment, 'taskId' | 'lease'>,
    private readonly source: CommittedSource,
    private readonly transport: CheckpointTransport,
    private readonly onUploaded: (record: UploadRecord) => void,
    /** The checkpoint the task resumed from, which the coordinator holds. */
    acknowledged: number | null = null,
  ) {
    this.acknowledged = acknowledged;
  }

  /** Checkpoint `seq` was committed locally (with its segments' bytes, if at hand): upload it when the link is free. */
  offer(seq: number, segments?: ReadonlyMap<string, ArrayBuffer>): void {
    for (const [hash, bytes] of segments ?? []) {
      if (this.#heldBytes + bytes.byteLength > HELD_BYTES || this.#held.has(hash)) continue;
      this.#held.set(hash, bytes);
      this.#heldBytes += bytes.byteLength;
    }
    this.#newest = Math.max(this.#newest, seq);
    if (this.#draining) return;
    this.#draining = true;
    void this.#drain();
  }

  /** Resolves once the coordinator holds checkpoint `seq` (or a newer one); rejects if its upload fails. */
  through(seq: number): Promise<void> {
    if ((this.acknowledged ?? 0) >= seq) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ seq, resolve, reject }));
    this.offer(seq);
    return done;
  }

  async #drain(): Promise<void> {
    while (this.#newest > (this.acknowledged ?? 0)) {
      const seq = this.#newest;
      try {
        await this.#upload(seq);
        this.acknowledged = seq;
        this.#settle((w) => w.seq <= seq, (w) => w.resolve());
      } catch (error) {
        // The next commit tries again (a lost lease ends the task here anyway); whoever waits for this one hears why.
        const e = error instanceof Error ? error : new Error(String(error));
        this.#settle((w) => w.seq <= seq, (w) => w.reject(e));
        console.warn(`[task ${this.task.taskId}] upload of checkpoint ${seq} failed:`, e);
        if (this.#newest === seq) break;
      }
    }
    this.#draining = false;
  }

  #settle(which: (w: Waiter) => boolean, how: (w: Waiter) => void): void {
    for (const waiter of this.#waiters.filter(which)) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      how(waiter);
    }
  }

  #drop(hash: string): void {
    const bytes = this.#held.get(hash);
    if (!bytes) return;
    this.#held.delete(hash);
    this.#heldBytes -= bytes.byteLength;
  }

  async #upload(seq: number): Promise<void> {
    const started = performance.now();
    const held = this.acknowledged ?? 0;
    const fresh = (await this.source.chain(seq, held)).filter((m) => m.seq > held);
    const missing = await this.transport.missing(this.task, chainSegments(fresh));
    let bytes = 0;
    await inWindows(missing, WINDOW, async (hash) => {
      const data = this.#held.get(hash) ?? (await this.source.segments([hash]))[0];
      bytes += data!.byteLength;
      await this.transport.segment(this.task, hash, data!);
    });
    // Base first: each manifest's parent is on the coordinator before it.
    for (const manifest of fresh) await this.transport.manifest(this.task, manifest);
    for (const hash of chainSegments(fresh)) this.#drop(hash);
    this.onUploaded({ taskId: this.task.taskId, seq, segments: missing.length, bytes, ms: performance.now() - started });
  }
}
