/**
 * Compaction of the coordinator's copy of each task's chain (DESIGN.md §4
 * "Restore", issue 5): when the chain ending at a task's newest checkpoint k
 * stores more than COMPACT_RATIO × its live memory, a base with the same
 * memory replaces manifest k and the manifests below k go, so a resume never
 * fetches much more than the memory itself. Their segments become garbage
 * for checkpoint-gc.ts.
 *
 * Safety: only a running task whose newest seq is above its resume point is
 * compacted: the volunteer that resumed it has fetched the chain it resumed
 * from (it uploaded a later checkpoint), so no one needs the old links. The
 * blobs are read and written off the event loop's critical path, one task at
 * a time, in short slices; everything may change meanwhile, so the store
 * checks it all again in the same write that swaps the base in.
 */
import { setImmediate } from 'node:timers/promises';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { needsCompaction } from '../../shared/compaction-rule.ts';
import { logger } from '../logger.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { Store } from '../store/store.ts';
import { buildBase } from './base-builder.ts';
import { timeSlice } from './time-slice.ts';

const log = logger('compaction');

/** Why a chain was left as it is, or what compacting it did. */
export type CompactionResult =
  | { outcome: 'compacted'; base: CheckpointManifest; removed: number; bytesBefore: number }
  | { outcome: 'not-needed' }
  /** The task is not running, has not uploaded past its resume point, or changed while the base was built. */
  | { outcome: 'refused'; reason: string };

export interface CoordinatorCompactionOptions {
  /** Longest stretch of work between turns of the event loop. @default SLICE_MS (time-slice.ts) */
  sliceMs?: number;
}

export class CoordinatorCompaction {
  readonly #queue = new Set<string>();
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly options: CoordinatorCompactionOptions = {},
  ) {}

  /** CheckpointService's `onStored` hook: looks at the task's chain soon, after the upload's handler (offers for one task coalesce). */
  readonly offer = (taskId: string): void => {
    if (this.#closed) return;
    this.#queue.add(taskId);
    this.#kick();
  };

  /** Resolves once nothing is queued or being compacted. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Drops what is queued and waits for the compaction in progress, which then swaps nothing in. Call before closing the store. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.clear();
    await this.idle();
  }

  /**
   * Compacts the chain ending at the task's newest checkpoint if it needs it
   * and it is safe. Throws when a blob of the chain is missing or damaged
   * (the chain is then kept as it is).
   */
  async compact(taskId: string): Promise<CompactionResult> {
    const head = this.store.checkpoints.newest(taskId);
    const refusal = this.#refusal(taskId, head);
    if (refusal || !head) return { outcome: 'refused', reason: refusal ?? 'no checkpoint' };
    const chain = this.store.checkpoints.chain(taskId, head.seq);
    if (!needsCompaction(chain)) return { outcome: 'not-needed' };
    const pause = timeSlice(this.options.sliceMs);
    await pause(); // reading a long chain's manifests may have used up the slice
    const base = await buildBase(this.blobs, chain, pause);
    // `has` also marks each blob as just used, so a sweep cannot take one between this check and the swap.
    if (!base.segments.every((s) => this.blobs.has(s.hash))) return { outcome: 'refused', reason: 'a segment of the base is gone' };
    if (this.#closed) return { outcome: 'refused', reason: 'the coordinator is stopping' };
    if (!this.store.checkpoints.replaceByBase(base, head)) return { outcome: 'refused', reason: this.#lostRace(taskId, head) };
    return { outcome: 'compacted', base, removed: chain.length - 1, bytesBefore: chain.reduce((sum, m) => sum + m.storedBytes, 0) };
  }

  /** Why the task's chain must not be compacted now (the store checks again in the swap itself). */
  #refusal(taskId: string, head: CheckpointManifest | undefined): string | undefined {
    const task = this.store.tasks.get(taskId);
    if (!task || task.state !== 'running') return `the task is ${task?.state ?? 'gone'}`;
    if (!head) return 'no checkpoint';
    if (head.seq <= (task.resumeSeq ?? 0)) return `checkpoint ${head.seq} is not past the resume point ${task.resumeSeq}`;
    return undefined;
  }

  /** What changed while the base of `head` was built, for the log. */
  #lostRace(taskId: string, head: CheckpointManifest): string {
    const newest = this.store.checkpoints.newest(taskId);
    const refusal = this.#refusal(taskId, newest);
    if (refusal) return refusal;
    return newest?.seq === head.seq ? `checkpoint ${head.seq} was replaced meanwhile` : `checkpoint ${newest?.seq} arrived meanwhile`;
  }

  #kick(): void {
    if (this.#running || this.#closed || this.#queue.size === 0) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      this.#kick();
    });
  }

  async #drain(): Promise<void> {
    // A turn later: the offer comes from inside the upload's handler, which answers first.
    await setImmediate();
    for (const taskId of this.#queue) {
      this.#queue.delete(taskId);
      if (this.#closed) return;
      try {
        const result = await this.compact(taskId);
        if (result.outcome === 'compacted') {
          const { base, removed, bytesBefore } = result;
          log.info(`task ${taskId}: checkpoint ${base.seq} is now a base (${removed} older manifests dropped, ${bytesBefore} → ${base.storedBytes} bytes)`);
        } else if (result.outcome === 'refused') log.debug(`task ${taskId}: not compacted: ${result.reason}`);
      } catch (error) {
        log.warn(`task ${taskId}: compaction failed; its chain is kept`, error);
      }
    }
  }
}
