/**
 * The compute worker's side of a checkpointed task (DESIGN.md §4
 * "Suspension"): at each safepoint of the program, one shared load tells
 * whether a checkpoint is wanted; if so, the stop captures the non-memory
 * state, swaps the tracker's interval (O(1)) and lets the program go on while
 * the checkpoint worker saves.
 *
 * How the written pages are found depends on the program:
 * - instrumented wasm (`suspendable()`): its own inline barrier marks every
 *   page before the store, and its polls decide where to stop; the
 *   checkpoint worker saves from the live memory, copying a protected page
 *   aside only when the program writes it first (copy-on-write);
 * - JS (`reach`): by comparison with a shadow copy at the stop
 *   (page-diff.ts), which also freezes the memory into that shadow for the
 *   checkpoint worker. A stop costs a pass over the written pages, or over
 *   all of them when the program declares nothing (`declareWritten`).
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import { CheckpointChannel } from '../checkpoint/checkpoint-channel.ts';
import { CheckpointSafepoint } from '../checkpoint/checkpoint-safepoint.ts';
import type { Suspended } from '../checkpoint/checkpoint-safepoint.ts';
import { PageDiff } from '../checkpoint/page-diff.ts';
import { PageTracker } from '../checkpoint/tracker.ts';
import type { SuspendHooks } from './run-hooks.ts';
import type { CheckpointLink } from './task-protocol.ts';

export class TaskCheckpoints {
  private readonly tracker: PageTracker;
  private readonly diff: PageDiff | undefined;
  private readonly safepoint: CheckpointSafepoint;

  constructor(
    private readonly link: CheckpointLink,
    private readonly onSuspended: (suspended: Suspended) => void,
  ) {
    this.tracker = new PageTracker(link.buffers, link.memory);
    if (link.shadow) {
      const maxBytes = this.tracker.maxPages * this.tracker.pageSize;
      this.diff = new PageDiff(link.memory, { pageSize: this.tracker.pageSize, maxBytes, shadow: link.shadow });
      // A resumed memory IS its checkpoint: sync the shadow so none of it counts as written.
      if (link.resume) this.diff.diff();
    }
    this.safepoint = new CheckpointSafepoint(this.tracker, link.buffers, new CheckpointChannel(link.channel), link.memory);
  }

  /** The program declared a write (page-diff.ts `declareWritten`): the next stop compares only declared pages. */
  declareWritten(byteOffset: number, length: number): void {
    this.diff?.declareWritten(byteOffset, length);
  }

  /** Call at every safepoint of a JS program; `capture` runs only when a checkpoint is begun. */
  reach(capture: () => JsonValue): void {
    if (!this.safepoint.pending) return;
    const diff = this.diff;
    const suspended = this.safepoint.poll(capture, diff && (() => diff.markDirty(this.tracker)));
    if (suspended) this.onSuspended(suspended);
  }

  /** The hooks of a program that marks its own writes and finds its own safepoints (instrumented wasm). */
  suspendable(): SuspendHooks {
    if (this.diff) throw new Error('this task tracks its pages by comparison: it has no barrier to hand out');
    const tracker = this.tracker;
    return {
      tracker: { memory: this.link.trackerMemory, markWrite: (address, length) => tracker.markWrite(address, length) },
      canSuspend: () => this.safepoint.canBegin(),
      suspend: (capture) => this.onSuspended(this.safepoint.begin(capture)),
    };
  }
}
