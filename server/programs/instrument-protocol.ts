/**
 * Messages between the coordinator and its instrumentation worker thread
 * (instrument-worker.ts). Instrumenting takes about a second per 25 KB of
 * module, so it never runs on the event loop that answers HTTP and sockets.
 * One request at a time, each with an id; an error crosses as `{name,
 * message}` and is rebuilt by name, so an InvalidProgram thrown in the worker
 * is the same 400 on the coordinator (CONVENTIONS.md 6). Server-only (Node
 * worker_threads), so it lives here rather than in shared/.
 */
import type { SerializedError } from '../../shared/errors.ts';
import type { InstrumentReport } from './instrument/instrument-options.ts';

/** Coordinator → worker: instrument these runnable bytes (share-memory.ts output). */
export interface InstrumentRequest {
  type: 'instrument';
  id: number;
  bytes: Uint8Array;
}

/** Worker → coordinator: the answer to the request with the same id. */
export type InstrumentReply =
  | { type: 'instrumented'; id: number; bytes: Uint8Array; report: InstrumentReport }
  | { type: 'failed'; id: number; error: SerializedError & { stack?: string } };
