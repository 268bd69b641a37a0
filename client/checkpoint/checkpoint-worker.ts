/**
 * Entry of a task's checkpoint worker (an ES module worker), the only code
 * that touches IndexedDB. The page sends one `start` message with the task's
 * tracker, channel and memory; the worker posts `ready`, then a `committed`
 * or `failed` event per checkpoint. Terminating it mid-flush is safe for the
 * store: a checkpoint without its manifest does not exist.
 */
import { serveCheckpointWorker } from './checkpoint-worker-serve.ts';
import type { CheckpointWorkerScope } from './checkpoint-worker-serve.ts';

serveCheckpointWorker(self as unknown as CheckpointWorkerScope);
