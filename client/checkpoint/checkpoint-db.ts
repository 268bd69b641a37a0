/**
 * The volunteer's checkpoint database: one typed schema (CONVENTIONS.md, the
 * idb model), shared by every task's checkpoint worker on this origin.
 */
import { openDB } from 'idb';
import type { DBSchema, IDBPDatabase } from 'idb';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';

/** @default name of the database */
export const CHECKPOINT_DB_NAME = 'grid-checkpoints';
const VERSION = 1;

/** Segments of a checkpoint whose manifest is not written yet: prune must not delete them. */
export interface PendingSegments {
  taskId: string;
  seq: number;
  hashes: string[];
}

export interface CheckpointDB extends DBSchema {
  /** Segment bytes by SHA-256 hex. A segment no manifest or pending record names is garbage. */
  segments: { key: string; value: ArrayBuffer };
  /** The commit points, by [taskId, seq]. */
  manifests: { key: [string, number]; value: CheckpointManifest };
  /** One record per task with a commit in flight, written in the same transactions as its segments. */
  pending: { key: string; value: PendingSegments };
}

export type CheckpointDatabase = IDBPDatabase<CheckpointDB>;

/**
 * Opens (or creates) the database. `onLost` runs if the browser closes the
 * connection itself: the user cleared the site's data (or the browser evicted
 * it), the database is deleted under us, and every later transaction on this
 * connection throws InvalidStateError (IndexedDB's `close` event, idb's `terminated`).
 */
export function openCheckpointDb(name = CHECKPOINT_DB_NAME, onLost?: () => void): Promise<CheckpointDatabase> {
  return openDB<CheckpointDB>(name, VERSION, {
    ...(onLost && { terminated: onLost }),
    upgrade(db) {
      db.createObjectStore('segments');
      db.createObjectStore('manifests', { keyPath: ['taskId', 'seq'] });
      db.createObjectStore('pending', { keyPath: 'taskId' });
    },
  });
}
