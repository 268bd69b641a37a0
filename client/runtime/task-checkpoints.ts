/**
 * The compute worker's side of a checkpointed task (DESIGN.md §4
 * "Suspension"): at each safepoint of the program, one shared load tells
 * whether a checkpoint is wanted; if so, the stop finds the pages written
 * since the last one, captures the non-memory state, swaps the tracker's
 * interval and lets the program go on while the checkpoint worker saves.
 *
 * Dirty pages are found by comparison (page-diff.ts), for wasm too: until
 * issue 4 instruments stores, nothing runs the write barrier on the
 * program's own writes. The comparison also freezes the memory into the
 * shadow the checkpoint worker saves from, so the program may write any page
 * right after the stop. The stop therefore costs a pass over the memory
 * (see the checkpoint benchmark's `js_detect_ms_per_gib`).
 */
import type { JsonValue } from '../../shared/checkpoint-format.ts';
import { CheckpointChannel } from '../checkpoint/checkpoint-channel.ts';
import { CheckpointSafepoint } from '../checkpoint/checkpoint-safepoint.ts';
import type { Suspended } from '../checkpoint/checkpoint-safepoint.ts';
import { PageDiff } from '../checkpoint/page-diff.ts';
import { PageTracker } from '../checkpoint/tracker.ts';
import type { CheckpointLink } from './task-protocol.ts';

export class TaskCheckpoints {
  private readonly tracker: PageTracker;
  private readonly diff: PageDiff;
  private readonly safepoint: CheckpointSafepoint;

  constructor(
    link: CheckpointLink,
    private readonly onSuspended: (suspended: Suspended) => void,
  ) {
    this.tracker = new PageTracker(link.buffers, link.memory);
    const maxBytes = this.tracker.maxPages * this.tracker.pageSize;
    this.diff = new PageDiff(link.memory, { pageSize: this.tracker.pageSize, maxBytes, shadow: link.shadow });
    // A resumed memory IS its checkpoint: sync the shadow so none of it counts as written.
    if (link.resume) this.diff.diff();
    this.safepoint = new CheckpointSafepoint(this.tracker, link.buffers, new CheckpointChannel(link.channel), link.memory);
  }

  /** The program declared a write (page-diff.ts `declareWritten`): the next stop compares only declared pages. */
  declareWritten(byteOffset: number, length: number): void {
    this.diff.declareWritten(byteOffset, length);
  }

  /** Call at every safepoint; `capture` runs only when a checkpoint is begun. */
  reach(capture: () => JsonValue): void {
    if (!this.safepoint.pending) return;
    const suspended = this.safepoint.poll(capture, () => this.diff.markDirty(this.tracker));
    if (suspended) this.onSuspended(suspended);
  }
}
