/**
 * Merges a task's chain into a new base (DESIGN.md §4 "Restore": a restore
 * never reads more than about twice the live memory).
 *
 * Semantics: compacting the chain ending at k writes a base manifest for the
 * same seq k (parent null) describing the same memory, and in the same strict
 * transaction replaces manifest k and deletes the task's manifests below k.
 * Either the old chain or the new base is visible, never a mix; checkpoints
 * older than k can no longer be restored. Then unreferenced segments are pruned.
 */
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { chainView } from '../../shared/chain-view.ts';
import { needsCompaction } from '../../shared/compaction-rule.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { restoreCheckpoint } from './restore.ts';

export interface CompactionResult {
  manifest: CheckpointManifest;
  /** Segments deleted by the prune that follows. */
  pruned: number;
}

/**
 * Compacts the task's chain ending at `seq` (the newest by default) when
 * `needsCompaction` says so (or always, with `force`); checkpoints after
 * `seq` stay as they are, their parent now a base. Call it from the task's
 * checkpoint worker between commits: it must not run while a checkpoint of
 * the same task is being written.
 */
export async function compactChain(
  store: CheckpointStore,
  taskId: string,
  options: { force?: boolean; seq?: number } = {},
): Promise<CompactionResult | undefined> {
  const chain = await store.chain(taskId, options.seq);
  if (chain.length === 0 || (!options.force && !needsCompaction(chain))) return undefined;
  const view = chainView(chain);
  const head = view.head;
  const restored = await restoreCheckpoint(store, taskId, { seq: head.seq });
  if (!restored) return undefined;
  const { pageSize } = head;
  // A base starts from zeros, so pages whose newest record is zero need not be listed.
  const writer = store.begin({ taskId, seq: head.seq, parent: null, pageSize, memoryPages: head.memoryPages });
  for (let page = 0; page < head.memoryPages; page++) {
    if (view.source[page]! >= 0) await writer.add(page, restored.memory.subarray(page * pageSize, (page + 1) * pageSize));
  }
  // One strict transaction puts the base at [taskId, k] (replacing the old k) and deletes the manifests below k.
  const base = await writer.commit(head.state, { replaceOlder: true, createdAt: head.createdAt });
  const { segments } = await store.prune(taskId);
  return { manifest: base, pruned: segments };
}
