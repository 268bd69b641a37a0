/**
 * The page's handle on one task's checkpoint worker: its requests answered
 * as promises, one at a time (later ones wait their turn), its reports as
 * callbacks. A worker that dies or
 * answers `error` outside a request ends checkpointing for the task, never
 * the task itself.
 */
import type {
  CheckpointWorkerEvent,
  CheckpointWorkerRequest,
  CheckpointWorkerStart,
  RestoredCheckpoint,
  SerializedError,
} from '../checkpoint/checkpoint-worker-protocol.ts';
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { CoordinatorOnlyReason } from '../checkpoint/checkpoint-loop.ts';
import type { CheckpointReport } from '../checkpoint/checkpoint-session.ts';

export const CHECKPOINT_WORKER_URL = '/build/checkpoint-worker.js';

/** How long `close` waits for a checkpoint being saved before terminating the worker. */
const CLOSE_TIMEOUT_MS = 5_000;

export interface CheckpointWorkerHandlers {
  committed(report: CheckpointReport): void;
  failed(seq: number, error: SerializedError): void;
  /** The worker failed outside a request (it stops checkpointing this task). */
  broken(error: SerializedError): void;
  /** IndexedDB is full or was deleted: the worker keeps checkpoints for the coordinator only from now on. */
  coordinatorOnly?(reason: CoordinatorOnlyReason): void;
}

type Reply = 'imported' | 'chain' | 'segments' | 'halted' | 'compacted' | 'restored' | 'ready' | 'closed';

export class CheckpointWorkerClient {
  private readonly worker: Worker;
  private waiting: { reply: Reply; resolve: (event: CheckpointWorkerEvent) => void; reject: (error: Error) => void } | undefined;
  /** Settles when the request before the next one has been answered. */
  private turn: Promise<unknown> = Promise.resolve();
  private terminated = false;

  constructor(
    name: string,
    private readonly handlers: CheckpointWorkerHandlers,
    url = CHECKPOINT_WORKER_URL,
  ) {
    this.worker = new Worker(url, { type: 'module', name });
    this.worker.onmessage = (event: MessageEvent<CheckpointWorkerEvent>) => this.receive(event.data);
    this.worker.onerror = (event) => this.fail({ name: 'WorkerError', message: event.message || 'the checkpoint worker failed to load' });
  }

  /** Rebuilds the task's newest checkpoint (or `seq`, dropping newer ones) into `into`; null when this volunteer holds none. */
  async restore(taskId: string, into: WebAssembly.Memory, dbName?: string, seq?: number): Promise<RestoredCheckpoint | null> {
    const event = await this.request('restored', { type: 'restore', taskId, into, ...(dbName === undefined ? {} : { dbName }), ...(seq === undefined ? {} : { seq }) });
    return event.type === 'restored' ? event.restored : null;
  }

  /** Replaces the task's local checkpoints with a chain from the coordinator (a `restore` then resumes from it). */
  async import(taskId: string, chain: CheckpointManifest[], segments: Map<string, ArrayBuffer>, dbName?: string): Promise<void> {
    await this.request('imported', { type: 'import', taskId, chain, segments, ...(dbName === undefined ? {} : { dbName }) }, [...segments.values()]);
  }

  /** The chain of committed checkpoint `seq`, base first, down to the one after `after` (which the coordinator holds). */
  async chain(seq: number, after?: number): Promise<CheckpointManifest[]> {
    const event = await this.request('chain', { type: 'chain', seq, ...(after === undefined ? {} : { after }) });
    return event.type === 'chain' ? event.chain : [];
  }

  /** The bytes of committed segments, in the order asked. */
  async segments(hashes: string[]): Promise<ArrayBuffer[]> {
    const event = await this.request('segments', { type: 'segments', hashes });
    return event.type === 'segments' ? event.segments : [];
  }

  /** Compacts the chain ending at `seq` if it reads more than twice its memory, between checkpoints. */
  async compact(seq: number): Promise<void> {
    await this.request('compacted', { type: 'compact', seq });
  }

  /** Takes no more checkpoints; resolves once one being saved has settled. */
  async halt(): Promise<void> {
    await this.request('halted', { type: 'halt' });
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
    this.terminated = true;
    this.worker.terminate();
    this.waiting?.reject(new Error('the checkpoint worker was terminated'));
    this.waiting = undefined;
  }

  private request(reply: Reply, message: CheckpointWorkerRequest, transfer: Transferable[] = []): Promise<CheckpointWorkerEvent> {
    const answered = this.turn.then(
      () =>
        new Promise<CheckpointWorkerEvent>((resolve, reject) => {
          if (this.terminated) return reject(new Error('the checkpoint worker was terminated'));
          this.waiting = { reply, resolve, reject };
          this.worker.postMessage(message, transfer);
        }),
    );
    this.turn = answered.catch(() => undefined);
    return answered;
  }

  private receive(event: CheckpointWorkerEvent): void {
    if (event.type === 'committed') return this.handlers.committed(event.report);
    if (event.type === 'failed') return this.handlers.failed(event.seq, event.error);
    if (event.type === 'coordinator-only') return this.handlers.coordinatorOnly?.(event.reason);
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
