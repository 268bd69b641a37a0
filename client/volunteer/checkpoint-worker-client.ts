/**
 * The page's handle on one task's checkpoint worker: its requests answered
 * one at a time as promises, its reports as callbacks. A worker that dies or
 * answers `error` outside a request ends checkpointing for the task, never
 * the task itself.
 */
import type {
  CheckpointWorkerEvent,
  CheckpointWorkerRequest,
  CheckpointWorkerStart,
  ExportedChain,
  RestoredCheckpoint,
  SerializedError,
} from '../checkpoint/checkpoint-worker-protocol.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { CheckpointReport } from '../checkpoint/checkpoint-session.ts';

export const CHECKPOINT_WORKER_URL = '/build/checkpoint-worker.js';

/** How long `close` waits for a checkpoint being saved before terminating the worker. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface CheckpointWorkerHandlers {
  committed(report: CheckpointReport): void;
  failed(seq: number, error: SerializedError): void;
  /** The worker failed outside a request (it stops checkpointing this task). */
  broken(error: SerializedError): void;
}

type Reply = 'imported' | 'exported' | 'restored' | 'ready' | 'closed';

export class CheckpointWorkerClient {
  private readonly worker: Worker;
  private waiting: { reply: Reply; resolve: (event: CheckpointWorkerEvent) => void; reject: (error: Error) => void } | undefined;

  constructor(
    name: string,
    private readonly handlers: CheckpointWorkerHandlers,
    url = CHECKPOINT_WORKER_URL,
  ) {
    this.worker = new Worker(url, { type: 'module', name });
    this.worker.onmessage = (event: MessageEvent<CheckpointWorkerEvent>) => this.receive(event.data);
    this.worker.onerror = (event) => this.fail({ name: 'WorkerError', message: event.message || 'the checkpoint worker failed to load' });
  }

  /** Rebuilds the task's newest checkpoint into `into`; null when this volunteer holds none. */
  async restore(taskId: string, into: WebAssembly.Memory, dbName?: string): Promise<RestoredCheckpoint | null> {
    const event = await this.request('restored', { type: 'restore', taskId, into, ...(dbName === undefined ? {} : { dbName }) });
    return event.type === 'restored' ? event.restored : null;
  }

  /** Replaces the task's local checkpoints with a chain from the coordinator (a `restore` then resumes from it). */
  async import(taskId: string, chain: CheckpointManifest[], segments: Map<string, ArrayBuffer>, dbName?: string): Promise<void> {
    await this.request('imported', { type: 'import', taskId, chain, segments, ...(dbName === undefined ? {} : { dbName }) }, [...segments.values()]);
  }

  /** Stops checkpointing and reads checkpoint `seq`'s chain and segments out, for the coordinator. */
  async exportChain(seq: number): Promise<ExportedChain> {
    const event = await this.request('exported', { type: 'export', seq });
    if (event.type !== 'exported') throw new Error(`expected the exported chain, got '${event.type}'`);
    return event.exported;
  }

  async start(start: Omit<CheckpointWorkerStart, 'type'>): Promise<void> {
    await this.request('ready', { type: 'start', ...start });
  }

  /** Lets a checkpoint being saved finish (for a while), optionally deletes the task's checkpoints, and ends the worker. */
  async close(deleteCheckpoints: boolean): Promise<void> {
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS));
    await Promise.race([this.request('closed', { type: 'close', deleteCheckpoints }).catch(() => undefined), timeout]);
    this.worker.terminate();
  }

  terminate(): void {
    this.worker.terminate();
    this.waiting?.reject(new Error('the checkpoint worker was terminated'));
    this.waiting = undefined;
  }

  private request(reply: Reply, message: CheckpointWorkerRequest, transfer: Transferable[] = []): Promise<CheckpointWorkerEvent> {
    if (this.waiting) return Promise.reject(new Error(`the checkpoint worker is still answering a request for '${this.waiting.reply}'`));
    return new Promise((resolve, reject) => {
      this.waiting = { reply, resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }

  private receive(event: CheckpointWorkerEvent): void {
    if (event.type === 'committed') return this.handlers.committed(event.report);
    if (event.type === 'failed') return this.handlers.failed(event.seq, event.error);
    if (event.type === 'error') return this.fail(event.error);
    if (this.waiting?.reply === event.type) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve(event);
    }
  }

  private fail(error: SerializedError): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting.reject(Object.assign(new Error(error.message), { name: error.name }));
    else this.handlers.broken(error);
  }
}
