/** Starts tracker-writer-thread.ts in a Node worker thread with tsx. */
import { Worker } from 'node:worker_threads';
import type { WriterData } from './tracker-writer-thread.ts';

const entry = new URL('./tracker-writer-thread.ts', import.meta.url).href;

/**
 * Node 20 does not apply `--import tsx` to a worker's .ts entry
 * (ERR_UNKNOWN_FILE_EXTENSION), so the worker registers tsx itself first.
 * See https://github.com/privatenumber/tsx/issues/354
 */
export function spawnWriter(data: WriterData): Worker {
  const source = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(source, { eval: true, execArgv: [], workerData: data });
}
