/**
 * The checkpoint worker's message handling, apart from its entry so a test
 * can serve it with a different store (fault injection).
 */
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import { importChain, readSegments } from './chain-transfer.ts';
import { compactChain } from './compaction.ts';
import { CheckpointChannel } from './checkpoint-channel.ts';
import { CheckpointLoop } from './checkpoint-loop.ts';
import { CheckpointStore } from './checkpoint-store.ts';
import { serializeError } from './checkpoint-worker-protocol.ts';
import type {
  CheckpointWorkerEvent,
  CheckpointWorkerChain,
  CheckpointWorkerSegments,
  CheckpointWorkerRequest,
  CheckpointWorkerRestore,
  CheckpointWorkerStart,
  RestoredCheckpoint,
} from './checkpoint-worker-protocol.ts';
import { restoreCheckpoint } from './restore.ts';

const WASM_PAGE = 65536;

export interface CheckpointWorkerScope {
  onmessage: ((event: MessageEvent<CheckpointWorkerRequest>) => void) | null;
  postMessage(message: CheckpointWorkerEvent, transfer?: Transferable[]): void;
}

/** Grows `memory` to at least `byteLength` and views all of it. */
function viewGrown(memory: WebAssembly.Memory, byteLength: number): Uint8Array {
  const missing = Math.ceil(byteLength / WASM_PAGE) - memory.buffer.byteLength / WASM_PAGE;
  if (missing > 0) memory.grow(missing);
  return new Uint8Array(memory.buffer);
}

/** Serves restore / start / close on `scope`; `openStore` opens the task's store (the real IndexedDB one by default). */
export function serveCheckpointWorker(
  scope: CheckpointWorkerScope,
  openStore: (name?: string) => Promise<CheckpointStore> = (name) => CheckpointStore.open(name),
): void {
  let loop: CheckpointLoop | undefined;
  let store: Promise<CheckpointStore> | undefined;
  let taskId: string | undefined;
  const post = (event: CheckpointWorkerEvent) => scope.postMessage(event);
  const storeFor = async (message: { taskId: string; dbName?: string }) => {
    if (taskId !== undefined && taskId !== message.taskId) throw new Error(`this checkpoint worker serves ${taskId}, not ${message.taskId}`);
    taskId = message.taskId;
    // Before the run starts, a database that failed to open or was deleted under us (site data cleared) is
    // opened afresh; a running loop keeps its store.
    if (store && !loop) {
      const opened = await store.catch(() => undefined);
      if (!opened || opened.lost) store = undefined;
    }
    return (store ??= openStore(message.dbName));
  };

  const restore = async (message: CheckpointWorkerRestore): Promise<RestoredCheckpoint | null> => {
    const started = performance.now();
    const opened = await storeFor(message);
    if (message.seq !== undefined) await opened.dropAfter(message.taskId, message.seq);
    const restored = await restoreCheckpoint(opened, message.taskId, { into: (length) => viewGrown(message.into, length) });
    if (!restored) return null;
    const { seq, memoryPages } = restored.manifest;
    return { seq, memoryPages, state: restored.state, bytesRead: restored.bytesRead, ms: performance.now() - started };
  };

  const start = async (message: CheckpointWorkerStart) => {
    if (loop) throw new Error('this checkpoint worker already serves a task');
    const opened = await storeFor(message);
    let parent: number | null;
    if (message.parent === null) {
      await opened.deleteTask(message.taskId);
      parent = null;
    } else {
      parent = (await opened.newest(message.taskId))?.seq ?? null;
      if (message.parent === 'newest') await opened.prune(message.taskId); // what the dead worker left uncommitted
      else if (parent !== message.parent) throw new Error(`${message.taskId} resumed from checkpoint ${message.parent}, but the newest here is ${parent ?? 'none'}`);
    }
    const memory = message.memory instanceof SharedArrayBuffer ? { buffer: message.memory } : message.memory;
    loop = new CheckpointLoop({
      store: opened,
      buffers: message.buffers,
      channel: new CheckpointChannel(message.channel),
      memory,
      taskId: message.taskId,
      parent,
      ...(message.intervalMs === undefined ? {} : { intervalMs: message.intervalMs }),
      ...(message.writer === undefined ? {} : { writer: message.writer }),
      // The kept segment bytes go to the page (transferred, not copied) for the upload.
      onCommitted: (report) => scope.postMessage({ type: 'committed', report }, report.segments ? [...report.segments.values()] : []),
      onFailed: (seq, error) => post({ type: 'failed', seq, error: serializeError(error) }),
      onCoordinatorOnly: (reason) => post({ type: 'coordinator-only', reason }),
    });
    loop.start();
    post({ type: 'ready', parent });
  };

  // Uploads read committed checkpoints while the loop saves newer ones: committed ones are never rewritten.
  // The loop has the manifests the coordinator may lack (some kept in memory only, or gone with a deleted database).
  const chainOf = async (message: CheckpointWorkerChain) => {
    if (taskId === undefined || !store) throw new Error('this checkpoint worker serves no task');
    const opened = await store;
    const chain: CheckpointManifest[] = [];
    for (let seq: number | null = message.seq; seq !== null && seq > (message.after ?? 0); ) {
      const manifest: CheckpointManifest | undefined = loop?.manifest(seq) ?? (await opened.manifest(taskId, seq));
      if (!manifest) throw new Error(`${taskId} has no committed checkpoint ${seq} here`);
      chain.unshift(manifest);
      seq = manifest.parent;
    }
    post({ type: 'chain', chain });
  };

  const segmentsOf = async (message: CheckpointWorkerSegments) => {
    if (!store) throw new Error('this checkpoint worker serves no task');
    const segments = await readSegments(await store, message.hashes);
    scope.postMessage({ type: 'segments', segments }, segments);
  };

  const close = async (deleteCheckpoints: boolean) => {
    await loop?.close();
    const opened = await store;
    // A deleted database holds nothing to delete (and refuses every transaction).
    if (opened && !opened.lost && deleteCheckpoints && taskId !== undefined) await opened.deleteTask(taskId);
    opened?.close();
    post({ type: 'closed' });
  };

  scope.onmessage = (event) => {
    const message = event.data;
    const handle = async () => {
      switch (message.type) {
        case 'import':
          await importChain(await storeFor(message), message.chain, message.segments);
          return post({ type: 'imported' });
        case 'restore':
          return post({ type: 'restored', restored: await restore(message) });
        case 'start':
          return start(message);
        case 'chain':
          return chainOf(message);
        case 'segments':
          return segmentsOf(message);
        case 'compact':
          loop?.acknowledged(message.seq);
          if (loop && store && taskId !== undefined) {
            const [opened, id] = [await store, taskId];
            // A deleted database has no chain left to compact.
            if (!opened.lost) await loop.between(() => compactChain(opened, id, { seq: message.seq }));
          }
          return post({ type: 'compacted' });
        case 'halt':
          await loop?.close();
          return post({ type: 'halted' });
        case 'close':
          return close(message.deleteCheckpoints === true);
      }
    };
    const handled = handle();
    handled.catch((error: unknown) => post({ type: 'error', error: serializeError(error) }));
  };
}
