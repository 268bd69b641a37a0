/**
 * The real checkpoint worker on a volunteer whose disk fills up: from
 * checkpoint FULL_FROM on, every IndexedDB commit fails with
 * QuotaExceededError, as Chromium reports an exhausted quota.
 */
import { CheckpointStore } from '../../client/checkpoint/checkpoint-store.ts';
import type { CheckpointHeader, CheckpointWriterOptions } from '../../client/checkpoint/checkpoint-store.ts';
import { serveCheckpointWorker } from '../../client/checkpoint/checkpoint-worker-serve.ts';
import type { CheckpointWorkerScope } from '../../client/checkpoint/checkpoint-worker-serve.ts';

const FULL_FROM = 2;

serveCheckpointWorker(self as unknown as CheckpointWorkerScope, async (name) => {
  const store = await CheckpointStore.open(name);
  const begin = store.begin.bind(store);
  store.begin = (header: CheckpointHeader, options?: CheckpointWriterOptions) => {
    const writer = begin(header, options);
    if (header.seq >= FULL_FROM) writer.commit = () => Promise.reject(new DOMException(`no room for checkpoint ${header.seq}`, 'QuotaExceededError'));
    return writer;
  };
  return store;
});
