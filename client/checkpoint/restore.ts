/**
 * Rebuilds a task's memory from a chain of checkpoints (DESIGN.md §4
 * "Restore"): the newest copy of each page wins, zero extents zero their
 * pages, and every segment read is checked against its SHA-256 first, so a
 * damaged store fails loudly with CheckpointCorruptError instead of
 * resuming a program on wrong memory.
 */
import { CheckpointCorruptError } from '../../shared/checkpoint-format.ts';
import type { CheckpointManifest, JsonValue } from '../../shared/checkpoint-format.ts';
import { chainView, segmentReads } from '../../shared/chain-view.ts';
import type { CheckpointStore } from './checkpoint-store.ts';
import { sha256Hex } from './segment-hash.ts';

/** Segments fetched per read transaction. */
const READ_BATCH = 8;

export interface RestoreOptions {
  /** The checkpoint to restore. @default the newest */
  seq?: number;
  /**
   * Where to write the memory: given the byte length, returns a view at least
   * that long (e.g. grows a WebAssembly.Memory and views its buffer). Every
   * byte up to the length is written, zeros included. @default a new Uint8Array
   */
  into?: (byteLength: number) => Uint8Array;
}

export interface Restored {
  manifest: CheckpointManifest;
  /** The memory at the checkpoint: `manifest.memoryPages × pageSize` bytes. */
  memory: Uint8Array;
  state: JsonValue;
  /** Segment bytes read from IndexedDB (compaction keeps it near the live memory). */
  bytesRead: number;
}

/** Restores checkpoint `seq` (or the newest) of `taskId`; undefined when the task has no committed checkpoint. */
export async function restoreCheckpoint(store: CheckpointStore, taskId: string, options: RestoreOptions = {}): Promise<Restored | undefined> {
  const chain = await store.chain(taskId, options.seq);
  if (chain.length === 0) return undefined;
  const view = chainView(chain);
  const { head } = view;
  const { pageSize } = head;
  const length = head.memoryPages * pageSize;
  const memory = options.into ? options.into(length).subarray(0, length) : new Uint8Array(length);
  if (memory.length < length) throw new RangeError(`restore needs ${length} bytes, the target has ${memory.length}`);

  for (let page = 0; page < head.memoryPages; page++) {
    if (view.source[page]! < 0) memory.fill(0, page * pageSize, (page + 1) * pageSize);
  }

  let bytesRead = 0;
  // Only segments that hold at least one live page are read.
  const wanted = segmentReads(chain, view);
  for (let i = 0; i < wanted.length; i += READ_BATCH) {
    const batch = wanted.slice(i, i + READ_BATCH);
    const tx = store.db.transaction('segments');
    const buffers = await Promise.all(batch.map((ref) => tx.store.get(ref.hash)));
    await Promise.all(
      batch.map(async (ref, j) => {
        const buffer = buffers[j];
        const where = `${taskId} checkpoint ${chain[ref.manifest]!.seq} segment ${ref.hash}`;
        if (!buffer) throw new CheckpointCorruptError(`${where} is missing`);
        if (buffer.byteLength !== ref.bytes) throw new CheckpointCorruptError(`${where} has ${buffer.byteLength} bytes, expected ${ref.bytes}`);
        if ((await sha256Hex(buffer)) !== ref.hash) throw new CheckpointCorruptError(`${where} does not match its SHA-256`);
        bytesRead += buffer.byteLength;
        const bytes = new Uint8Array(buffer);
        for (const page of ref.pages) {
          const offset = view.offset[page]!;
          memory.set(bytes.subarray(offset, offset + pageSize), page * pageSize);
        }
      }),
    );
  }
  return { manifest: head, memory, state: head.state, bytesRead };
}
