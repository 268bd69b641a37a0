/**
 * The real checkpoint worker served with a store whose commits fail with
 * QuotaExceededError for the checkpoints `fails` picks, as Chromium reports
 * an exhausted quota: what the fault-injection worker bundles share.
 */
import { CheckpointStore } from '../../client/checkpoint/checkpoint-store.ts';
import type { CheckpointHeader, CheckpointWriterOptions } from '../../client/checkpoint/checkpoint-store.ts';
import { serveCheckpointWorker } from '../../client/checkpoint/checkpoint-worker-serve.ts';
import type { CheckpointWorkerScope } from '../../client/checkpoint/checkpoint-worker-serve.ts';

export function serveWithFailingCommits(fails: (seq: number) => boolean, why: (seq: number) => string): void {
  serveCheckpointWorker(self as unknown as CheckpointWorkerScope, async (name) => {
    const store = await CheckpointStore.open(name);
    const begin = store.begin.bind(store);
    store.begin = (header: CheckpointHeader, options?: CheckpointWriterOptions) => {
      const writer = begin(header, options);
      if (fails(header.seq)) writer.commit = () => Promise.reject(new DOMException(why(header.seq), 'QuotaExceededError'));
      return writer;
    };
    return store;
  });
}
