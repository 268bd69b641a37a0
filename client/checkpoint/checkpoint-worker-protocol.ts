/**
 * Messages between the page and a task's checkpoint worker (one per task).
 * The hot path does not use them: requests and the suspension's state travel
 * through shared memory (checkpoint-channel.ts); these set the worker up and
 * carry its reports.
 *
 * A run starts with `restore` when it resumes (the worker rebuilds the
 * memory, so the page can start the tracker at the interval after it), then
 * `start`; it ends with `close`.
 */
import type { CheckpointManifest, JsonValue } from '../../shared/checkpoint-format.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';
import type { CoordinatorOnlyReason } from './checkpoint-loop.ts';
import type { CheckpointReport } from './checkpoint-session.ts';
import type { CheckpointWriterOptions } from './checkpoint-store.ts';

export interface CheckpointWorkerRestore {
  type: 'restore';
  taskId: string;
  /** The process memory to rebuild; it is grown to the checkpoint's size. */
  into: WebAssembly.Memory;
  /** Restore this checkpoint rather than the newest; the task's newer ones here are dropped first (the run goes on from `seq`). */
  seq?: number;
  /** @default CHECKPOINT_DB_NAME */
  dbName?: string;
}

export interface CheckpointWorkerStart {
  type: 'start';
  taskId: string;
  buffers: TrackerBuffers;
  /** The channel's SharedArrayBuffer. */
  channel: SharedArrayBuffer;
  /**
   * What the scan reads: the process memory when every write goes through
   * the barrier, or the frozen copy a PageDiff keeps (page-diff.ts `snapshot`)
   * when dirty pages are found by comparison. A shared WebAssembly.Memory (it
   * may grow) or a fixed SharedArrayBuffer.
   */
  memory: WebAssembly.Memory | SharedArrayBuffer;
  /**
   * The checkpoint the run resumed from, or null for a run from the start:
   * then the task's older checkpoints in this store are deleted first (their
   * numbers would collide with the new run's). 'newest' when this worker
   * replaces one that died: it builds on whatever that one last committed.
   */
  parent: number | null | 'newest';
  /** Request a checkpoint this often (ms); omitted: only when someone else asks. */
  intervalMs?: number;
  /** How segments are batched into transactions (benchmarks tune it). */
  writer?: CheckpointWriterOptions;
  /** @default CHECKPOINT_DB_NAME */
  dbName?: string;
}

/** Replaces the task's local checkpoints with a chain from the coordinator (chain-transfer.ts), before `restore`. */
export interface CheckpointWorkerImport {
  type: 'import';
  taskId: string;
  chain: CheckpointManifest[];
  /** Segment bytes by hash, every one the chain names. */
  segments: Map<string, ArrayBuffer>;
  /** @default CHECKPOINT_DB_NAME */
  dbName?: string;
}

/** The chain of committed checkpoint `seq`, base first, for an upload (checkpoints go on being taken meanwhile). */
export interface CheckpointWorkerChain {
  type: 'chain';
  seq: number;
  /** The coordinator holds checkpoint `after`: the chain stops above it (it may be gone here). @default 0 */
  after?: number;
}

/** The bytes of these committed segments, for an upload. */
export interface CheckpointWorkerSegments {
  type: 'segments';
  hashes: string[];
}

export type CheckpointWorkerRequest =
  | CheckpointWorkerImport
  | CheckpointWorkerRestore
  | CheckpointWorkerStart
  | CheckpointWorkerChain
  | CheckpointWorkerSegments
  /** The task halts: take no checkpoint after the ones committed or being saved; answers once those settled. */
  | { type: 'halt' }
  /**
   * The coordinator holds checkpoint `seq`: compact the chain ending there if
   * it reads more than twice its memory (compaction.ts), between checkpoints.
   */
  | { type: 'compact'; seq: number }
  | { type: 'close'; deleteCheckpoints?: boolean };

export interface SerializedError {
  name: string;
  message: string;
}

/** What a restore rebuilt: the memory is in `into`; the rest is here. */
export interface RestoredCheckpoint {
  seq: number;
  memoryPages: number;
  state: JsonValue;
  bytesRead: number;
  ms: number;
}


export type CheckpointWorkerEvent =
  | { type: 'imported' }
  | { type: 'chain'; chain: CheckpointManifest[] }
  | { type: 'segments'; segments: ArrayBuffer[] }
  | { type: 'halted' }
  | { type: 'compacted' }
  | { type: 'restored'; restored: RestoredCheckpoint | null }
  | { type: 'ready'; parent: number | null }
  | { type: 'committed'; report: CheckpointReport }
  | { type: 'failed'; seq: number; error: SerializedError }
  /** IndexedDB is full or was deleted: checkpoints are kept for the coordinator only from now on. */
  | { type: 'coordinator-only'; reason: CoordinatorOnlyReason }
  | { type: 'closed' }
  | { type: 'error'; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}
