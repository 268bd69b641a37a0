/**
 * The real checkpoint worker, served with a store whose commit fails for
 * every seq divisible by `FAIL_EVERY` (as a quota error would), to test that
 * the next checkpoint holds everything since the last committed one.
 */
import { CheckpointStore } from '../../client/checkpoint/checkpoint-store.ts';
import type { CheckpointHeader, CheckpointWriterOptions } from '../../client/checkpoint/checkpoint-store.ts';
import { serveCheckpointWorker } from '../../client/checkpoint/checkpoint-worker-serve.ts';
import type { CheckpointWorkerScope } from '../../client/checkpoint/checkpoint-worker-serve.ts';

const FAIL_EVERY = 3;

serveCheckpointWorker(self as unknown as CheckpointWorkerScope, async (name) => {
  const store = await CheckpointStore.open(name);
  const begin = store.begin.bind(store);
  store.begin = (header: CheckpointHeader, options?: CheckpointWriterOptions) => {
    const writer = begin(header, options);
    if (header.seq % FAIL_EVERY === 0) {
      writer.commit = () => Promise.reject(new DOMException(`injected failure of checkpoint ${header.seq}`, 'QuotaExceededError'));
    }
    return writer;
  };
  return store;
});
