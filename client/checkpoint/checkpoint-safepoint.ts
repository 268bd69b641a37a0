/**
 * The compute worker's end of a checkpoint (DESIGN.md §4 "Suspension"): at a
 * safepoint it notices a request (one shared load), captures the non-memory
 * state, swaps the interval with `PageTracker.beginCheckpoint()` (O(1)) and
 * returns; the program resumes while the checkpoint worker saves.
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import { TrackerWord } from '../../shared/tracker-layout.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';
import type { CheckpointChannel } from './checkpoint-channel.ts';
import type { MemorySource, PageTracker } from './tracker.ts';
import { requestsMade } from './tracker-words.ts';

export interface Suspended {
  /** The checkpoint begun: the memory at this instant is checkpoint `seq`. */
  seq: number;
  memoryPages: number;
  /** Suspension to resume, state capture included (ms). */
  pauseMs: number;
  /** This checkpoint holds every written page, because the previous one failed to commit. */
  rebuilt: boolean;
}

export class CheckpointSafepoint {
  private readonly trackerWords: Int32Array;
  /** Requests served so far (compute-owned). */
  private served = 0;

  constructor(
    private readonly tracker: PageTracker,
    buffers: TrackerBuffers,
    private readonly channel: CheckpointChannel,
    private readonly memory: MemorySource,
  ) {
    this.trackerWords = new Int32Array(buffers.tracker);
  }

  /** True when a request waits, or the checkpoint worker was lost (cheap: call at every safepoint). */
  get pending(): boolean {
    return requestsMade(this.trackerWords) !== this.served || this.channel.abandoned;
  }

  /**
   * Call at a safepoint. If a checkpoint was requested and none is in flight,
   * begins one with the state `capture()` returns and reports the stop;
   * otherwise returns null at once (a request made while the previous
   * checkpoint is saved stays pending: requests coalesce). `markDirty` runs
   * first, inside the stop, for code that finds its dirty pages there rather
   * than through the barrier (page-diff.ts); it may call `tracker.markWrite`.
   */
  poll(capture: () => JsonValue, markDirty?: () => void): Suspended | null {
    const requested = requestsMade(this.trackerWords);
    if (!this.canBegin() || requested === this.served) return null;
    this.served = requested;
    return this.begin(capture, markDirty);
  }

  /**
   * May a checkpoint begin at this safepoint? First takes back what a lost
   * checkpoint worker held (checkpoint-channel.ts ABANDONED), then: true when
   * no checkpoint is in flight. For runtimes that decide on requests
   * themselves (an instrumented program's polls read the request word inline).
   */
  canBegin(): boolean {
    if (this.channel.abandoned) {
      // Its checkpoint will never commit: take the pages back, and hold everything since the last commit next time.
      if (this.tracker.releaseAbandoned()) this.channel.requireRebuild();
      this.channel.clearAbandoned();
    }
    return Atomics.load(this.trackerWords, TrackerWord.PROTECTED) === 0;
  }

  /** Begins a checkpoint now; only when `canBegin()` just said so, at the same safepoint. See `poll`. */
  begin(capture: () => JsonValue, markDirty?: () => void): Suspended {
    const start = performance.now();
    // The previous checkpoint did not commit: its pages are dirty again (PROTECTED is 0, so this is allowed).
    const rebuilt = this.channel.takeRebuild();
    if (rebuilt) this.tracker.markAllWritten();
    markDirty?.();
    const memoryPages = Math.floor(this.memory.buffer.byteLength / this.tracker.pageSize);
    const seq = this.tracker.interval;
    this.channel.writeSuspension({ seq, memoryPages, state: capture() });
    // Publishes PROTECTED = seq last: the checkpoint worker reads the state only after seeing it.
    const begun = this.tracker.beginCheckpoint();
    if (begun !== seq) throw new Error(`beginCheckpoint() returned ${begun}, expected ${seq}`);
    return { seq, memoryPages, pauseMs: performance.now() - start, rebuilt };
  }
}
