/**
 * When a chain of checkpoints is merged into a new base (DESIGN.md §4
 * "Restore": a restore never reads more than about twice the live memory).
 * One rule for the volunteer's IndexedDB and the coordinator's copy.
 */
import { chainView } from './chain-view.ts';
import type { CheckpointManifest } from './checkpoint-format.ts';

/** Compact when the chain stores more than this many times its live memory. */
export const COMPACT_RATIO = 2;

/** True when restoring `chain` (base first) would read more than COMPACT_RATIO × its live memory. */
export function needsCompaction(chain: readonly CheckpointManifest[]): boolean {
  if (chain.length < 2) return false;
  const view = chainView(chain);
  return view.storedBytes > COMPACT_RATIO * view.liveBytes;
}
