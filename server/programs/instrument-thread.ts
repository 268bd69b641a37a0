/**
 * One long-lived instrumentation worker thread, started on first need, with
 * requests queued and sent one at a time: instrumenting is CPU-bound, so a
 * second thread would only compete with the first, and one request in flight
 * means a crash or a timeout fails only that request. The next request after
 * a crash starts a new worker.
 */
import type { Worker } from 'node:worker_threads';
import { GridError, deserializeError } from '../../shared/errors.ts';
import { logger } from '../logger.ts';
import type { InstrumentReport } from './instrument/instrument-options.ts';
import type { InstrumentReply, InstrumentRequest } from './instrument-protocol.ts';
import { spawnInstrumentWorker } from './instrument-worker-spawn.ts';

const log = logger('instrument');

/**
 * How long one instrumentation may take before the worker is stopped: a
 * backstop against a hang, not a budget. Measured: about 40 s per MB of
 * module, plus about 1.5 s to load binaryen in a new worker.
 */
export const INSTRUMENT_TIMEOUT_BASE_MS = 60_000;
export const INSTRUMENT_TIMEOUT_MS_PER_MB = 200_000;

export function instrumentTimeoutMs(bytes: number): number {
  return INSTRUMENT_TIMEOUT_BASE_MS + Math.ceil((bytes / 1_000_000) * INSTRUMENT_TIMEOUT_MS_PER_MB);
}

export interface InstrumentResult {
  bytes: Uint8Array;
  report: InstrumentReport;
}

interface Pending {
  id: number;
  bytes: Uint8Array;
  /** What the program is called in errors and logs. */
  label: string;
  resolve(result: InstrumentResult): void;
  reject(error: Error): void;
}

export interface InstrumentThreadOptions {
  /** Starts a worker that speaks instrument-protocol.ts. @default spawnInstrumentWorker */
  spawn?: () => Worker;
  /** @default instrumentTimeoutMs */
  timeoutMs?: (bytes: number) => number;
}

export class InstrumentThread {
  readonly #spawn: () => Worker;
  readonly #timeoutMs: (bytes: number) => number;
  readonly #queue: Pending[] = [];
  #worker: Worker | undefined;
  #current: Pending | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: InstrumentThreadOptions = {}) {
    this.#spawn = options.spawn ?? spawnInstrumentWorker;
    this.#timeoutMs = options.timeoutMs ?? instrumentTimeoutMs;
  }

  /** Instruments `bytes` (share-memory.ts output) in the worker; rejects with the worker's error, rebuilt by name. */
  instrument(bytes: Uint8Array, label: string): Promise<InstrumentResult> {
    if (this.#closed) return Promise.reject(new GridError('InternalError', 'the coordinator is closing'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, bytes, label, resolve, reject });
      this.#next();
    });
  }

  /** Stops the worker; pending requests reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const closing = new GridError('InternalError', 'the coordinator is closing');
    for (const pending of this.#queue.splice(0)) pending.reject(closing);
    this.#settle((p) => p.reject(closing));
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #next(): void {
    if (this.#current || this.#closed) return;
    const pending = this.#queue.shift();
    if (!pending) return;
    this.#current = pending;
    try {
      this.#worker ??= this.#start();
    } catch (error) {
      const failed = new GridError('InternalError', `cannot start the instrumentation worker: ${(error as Error).message}`);
      this.#settle((p) => p.reject(failed));
      return;
    }
    this.#timer = setTimeout(() => this.#timedOut(pending), this.#timeoutMs(pending.bytes.byteLength));
    // A copy the worker owns: the caller's bytes may be a view into a larger (or pooled) buffer.
    const bytes = new Uint8Array(pending.bytes);
    const request: InstrumentRequest = { type: 'instrument', id: pending.id, bytes };
    this.#worker.postMessage(request, [bytes.buffer]);
  }

  #start(): Worker {
    const worker = this.#spawn();
    worker.on('message', (reply: InstrumentReply) => {
      if (worker !== this.#worker || reply.id !== this.#current?.id) return;
      if (reply.type === 'instrumented') {
        this.#settle((p) => p.resolve({ bytes: reply.bytes, report: reply.report }));
        return;
      }
      if (reply.error.stack) log.debug(`instrumenting ${this.#current.label} failed`, reply.error.stack);
      this.#settle((p) => p.reject(deserializeError(reply.error)));
    });
    worker.on('error', (error) => this.#lost(worker, `it threw ${error.name}: ${error.message}`));
    worker.on('exit', (code) => this.#lost(worker, `it exited with code ${code}`));
    return worker;
  }

  /** The worker died: the request in flight fails, and the next one starts a new worker. */
  #lost(worker: Worker, why: string): void {
    if (worker !== this.#worker) return; // one we already replaced or stopped
    this.#worker = undefined;
    void worker.terminate();
    if (!this.#current) {
      log.warn(`the idle instrumentation worker stopped: ${why}`);
      return;
    }
    const label = this.#current.label;
    log.error(`the instrumentation worker stopped while instrumenting ${label}: ${why}`);
    const error = new GridError('InternalError', `the instrumentation worker crashed while instrumenting ${label} (${why})`);
    this.#settle((p) => p.reject(error));
  }

  #timedOut(pending: Pending): void {
    if (pending !== this.#current) return;
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    const seconds = Math.round(this.#timeoutMs(pending.bytes.byteLength) / 100) / 10;
    log.error(`instrumenting ${pending.label} took longer than ${seconds} s; its worker was stopped`);
    const error = new GridError('InternalError', `instrumenting ${pending.label} took longer than ${seconds} s`);
    this.#settle((p) => p.reject(error));
  }

  /** Ends the request in flight (if any) and sends the next one. */
  #settle(end: (pending: Pending) => void): void {
    const pending = this.#current;
    this.#current = undefined;
    clearTimeout(this.#timer);
    if (pending) end(pending);
    this.#next();
  }
}
