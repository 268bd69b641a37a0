/**
 * Moving a checkpoint between this volunteer's IndexedDB and the coordinator
 * (DESIGN.md §5): a chain goes out as its manifests, base first, and the
 * segments they name; it comes in the same way. An import checks every
 * segment against its hash and writes the manifests last, in one strict
 * transaction, so a chain half-imported does not exist (like a commit).
 */
import { CheckpointCorruptError, chainSegments } from '../../shared/checkpoint-format.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { sha256Hex } from './segment-hash.ts';


/** Segment bytes by hash; a missing one is CheckpointCorruptError. */
export async function readSegments(store: CheckpointStore, hashes: readonly string[]): Promise<ArrayBuffer[]> {
  const tx = store.db.transaction('segments');
  const segments = await Promise.all(hashes.map((hash) => tx.store.get(hash)));
  return segments.map((segment, i) => {
    if (!segment) throw new CheckpointCorruptError(`segment ${hashes[i]} is not in this volunteer's store`);
    return segment;
  });
}

/**
 * Replaces the task's checkpoints here with `chain` (base first): its
 * segments, checked, then its manifests. `segments` holds each hash of
 * `chainSegments(chain)`.
 */
export async function importChain(store: CheckpointStore, chain: readonly CheckpointManifest[], segments: ReadonlyMap<string, ArrayBuffer>): Promise<void> {
  const taskId = chain[0]?.taskId;
  if (taskId === undefined || chain.some((m) => m.taskId !== taskId)) throw new CheckpointCorruptError('a chain to import names one task and holds at least one checkpoint');
  if (chain[0]!.parent !== null || chain.some((m, i) => i > 0 && m.parent !== chain[i - 1]!.seq)) {
    throw new CheckpointCorruptError(`the chain of ${taskId} does not link from a base: ${chain.map((m) => `${m.parent}→${m.seq}`).join(', ')}`);
  }
  const hashes = chainSegments(chain);
  const checked = await Promise.all(hashes.map(async (hash) => [hash, segments.get(hash), segments.get(hash) && (await sha256Hex(segments.get(hash)!))] as const));
  for (const [hash, bytes, actual] of checked) {
    if (!bytes) throw new CheckpointCorruptError(`segment ${hash} of ${taskId} was not fetched`);
    if (actual !== hash) throw new CheckpointCorruptError(`segment ${hash} of ${taskId} hashes to ${actual}`);
  }
  await store.deleteTask(taskId);
  // A pending record, as a commit keeps, so another task's prune leaves these segments alone until the manifests land.
  const puts = store.db.transaction(['segments', 'pending'], 'readwrite', { durability: 'relaxed' });
  const pending = puts.objectStore('pending').put({ taskId, seq: chain.at(-1)!.seq, hashes });
  await Promise.all([...checked.map(([hash, bytes]) => puts.objectStore('segments').put(bytes!, hash)), pending, puts.done]);
  const commit = store.db.transaction(['manifests', 'pending'], 'readwrite', { durability: 'strict' });
  await Promise.all([...chain.map((m) => commit.objectStore('manifests').put(m)), commit.objectStore('pending').delete(taskId), commit.done]);
}
