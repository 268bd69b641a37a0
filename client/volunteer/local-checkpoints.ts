/**
 * What this volunteer holds in its IndexedDB, as the page sees it (DESIGN.md
 * §5 "Resume after closing the tab"): the newest few checkpoints of each
 * task, by digest, which the hello reports so the coordinator can give a task
 * back to the tab that can resume it without a download (the newest one the
 * coordinator acknowledged is often not the newest here: a tab closes while
 * it uploads); and pruning the tasks the coordinator no longer wants resumed. Read-only except for `forget`, which
 * touches only tasks no checkpoint worker serves.
 */
import { manifestDigestInput } from '../../shared/checkpoint-format.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { CheckpointStore } from '../checkpoint/checkpoint-store.ts';
import { sha256Hex } from '../checkpoint/segment-hash.ts';

export interface HeldCheckpoint {
  taskId: string;
  seq: number;
  digest: string;
  /** Bytes its chain stores here. */
  bytes: number;
  /** When it was committed (ms since the epoch). */
  at: number;
}

export function manifestDigest(manifest: CheckpointManifest): Promise<string> {
  return sha256Hex(new TextEncoder().encode(manifestDigestInput(manifest)).buffer as ArrayBuffer);
}

/** Checkpoints of each task the hello names: the newest of its chain and a few before it. */
const HELD_PER_TASK = 4;

/** The newest checkpoints of every task in this origin's store, newest first; empty if IndexedDB cannot be opened. */
export async function heldCheckpoints(dbName?: string): Promise<HeldCheckpoint[]> {
  let store: CheckpointStore;
  try {
    store = await CheckpointStore.open(dbName);
  } catch {
    return [];
  }
  try {
    const byTask = new Map<string, CheckpointManifest[]>();
    for (const manifest of await store.db.getAll('manifests')) byTask.set(manifest.taskId, [...(byTask.get(manifest.taskId) ?? []), manifest]);
    const held: HeldCheckpoint[] = [];
    for (const [taskId, manifests] of byTask) {
      const chain = await store.chain(taskId).catch(() => []);
      if (chain.length === 0 || manifests.length === 0) continue;
      let bytes = chain.reduce((sum, m) => sum + m.storedBytes, 0);
      for (const manifest of chain.slice(-HELD_PER_TASK).reverse()) {
        held.push({ taskId, seq: manifest.seq, digest: await manifestDigest(manifest), bytes, at: manifest.createdAt });
        bytes -= manifest.storedBytes;
      }
    }
    return held;
  } finally {
    store.close();
  }
}

/** The digest of the task's local checkpoint `seq`, if this volunteer holds it. */
export async function localDigest(taskId: string, seq: number, dbName?: string): Promise<string | undefined> {
  const store = await CheckpointStore.open(dbName);
  try {
    const manifest = await store.manifest(taskId, seq);
    return manifest && (await manifestDigest(manifest));
  } finally {
    store.close();
  }
}

/** Deletes the checkpoints of these tasks (none of them may be running here). */
export async function forgetTasks(taskIds: readonly string[], dbName?: string): Promise<void> {
  if (taskIds.length === 0) return;
  const store = await CheckpointStore.open(dbName);
  try {
    for (const taskId of taskIds) await store.deleteTask(taskId);
  } finally {
    store.close();
  }
}
