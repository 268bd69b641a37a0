/**
 * The checkpoint worker's message handling, apart from its entry so a test
 * can serve it with a different store (fault injection).
 */
import { CheckpointChannel } from './checkpoint-channel.ts';
import { CheckpointLoop } from './checkpoint-loop.ts';
import { CheckpointStore } from './checkpoint-store.ts';
import { serializeError } from './checkpoint-worker-protocol.ts';
import type { CheckpointWorkerEvent, CheckpointWorkerRequest, CheckpointWorkerStart } from './checkpoint-worker-protocol.ts';

export interface CheckpointWorkerScope {
  onmessage: ((event: MessageEvent<CheckpointWorkerRequest>) => void) | null;
  postMessage(message: CheckpointWorkerEvent): void;
}

/** Serves `start` / `close` on `scope`; `openStore` opens the task's store (the real IndexedDB one by default). */
export function serveCheckpointWorker(
  scope: CheckpointWorkerScope,
  openStore: (name?: string) => Promise<CheckpointStore> = (name) => CheckpointStore.open(name),
): void {
  let loop: CheckpointLoop | undefined;
  let store: CheckpointStore | undefined;
  const post = (event: CheckpointWorkerEvent) => scope.postMessage(event);

  const start = async (message: CheckpointWorkerStart) => {
    if (loop) throw new Error('this checkpoint worker already serves a task');
    store = await openStore(message.dbName);
    const parent = (await store.newest(message.taskId))?.seq ?? null;
    const memory = message.memory instanceof SharedArrayBuffer ? { buffer: message.memory } : message.memory;
    loop = new CheckpointLoop({
      store,
      buffers: message.buffers,
      channel: new CheckpointChannel(message.channel),
      memory,
      taskId: message.taskId,
      parent,
      onCommitted: (report) => post({ type: 'committed', report }),
      onFailed: (seq, error) => post({ type: 'failed', seq, error: serializeError(error) }),
    });
    loop.start();
    post({ type: 'ready', parent });
  };

  const close = async () => {
    await loop?.close();
    store?.close();
    post({ type: 'closed' });
  };

  scope.onmessage = (event) => {
    const message = event.data;
    const handled = message.type === 'start' ? start(message) : close();
    handled.catch((error: unknown) => post({ type: 'error', error: serializeError(error) }));
  };
}
