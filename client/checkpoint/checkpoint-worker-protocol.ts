/**
 * Messages between the page and a task's checkpoint worker (one per task).
 * The hot path does not use them: requests and the suspension's state travel
 * through shared memory (checkpoint-channel.ts); these set the worker up and
 * carry its reports.
 */
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';
import type { CheckpointReport } from './checkpoint-session.ts';

export interface CheckpointWorkerStart {
  type: 'start';
  taskId: string;
  buffers: TrackerBuffers;
  /** The channel's SharedArrayBuffer. */
  channel: SharedArrayBuffer;
  /** The process memory: a shared WebAssembly.Memory (it may grow) or a fixed SharedArrayBuffer. */
  memory: WebAssembly.Memory | SharedArrayBuffer;
  /** @default CHECKPOINT_DB_NAME */
  dbName?: string;
}

export type CheckpointWorkerRequest = CheckpointWorkerStart | { type: 'close' };

export interface SerializedError {
  name: string;
  message: string;
}

export type CheckpointWorkerEvent =
  | { type: 'ready'; parent: number | null }
  | { type: 'committed'; report: CheckpointReport }
  | { type: 'failed'; seq: number; error: SerializedError }
  | { type: 'closed' }
  | { type: 'error'; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}
