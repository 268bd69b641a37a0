/**
 * Starts the instrumentation worker thread, from the built coordinator or from
 * TypeScript source, so that the 14 MB `binaryen` ES module is never loaded
 * through tsx's loader: tsx transforms it and inlines a source map, which
 * takes about 27 s, against about 1.5 s in plain Node.
 *
 * - Built (`npm start`): this code is bundled into dist/server/main.js, and
 *   the worker is dist/server/instrument-worker.js beside it (scripts/build.mjs).
 * - From source (tests, `npm run bench`, under `node --import tsx`): the worker
 *   starts without tsx (`execArgv: []`) on a small ES module that imports
 *   binaryen first, then registers tsx and imports instrument-worker.ts.
 *   binaryen is then already in Node's module cache, so the worker's own
 *   `import binaryen from 'binaryen'` does not load it again.
 */
import { Worker } from 'node:worker_threads';

const fromSource = import.meta.url.endsWith('.ts');

/** The worker's entry: beside this file in source, beside main.js when built. */
const WORKER_URL = new URL(fromSource ? './instrument-worker.ts' : './instrument-worker.js', import.meta.url);

/**
 * The source-mode bootstrap, as an ES module in a data: URL (Node 20 runs
 * `eval: true` code as CommonJS). A data: module resolves no bare names, so
 * it gets every URL in workerData.
 */
const BOOTSTRAP = `
import { workerData } from 'node:worker_threads';
await import(workerData.binaryen);
const { register } = await import(workerData.tsx);
register();
await import(workerData.worker);
`;

/** A new instrumentation worker thread (instrument-protocol.ts); its first request waits for binaryen to load. */
export function spawnInstrumentWorker(): Worker {
  if (!fromSource) return new Worker(WORKER_URL, { execArgv: [] });
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(BOOTSTRAP)}`), {
    execArgv: [],
    workerData: {
      binaryen: import.meta.resolve('binaryen'),
      tsx: import.meta.resolve('tsx/esm/api'),
      worker: WORKER_URL.href,
    },
  });
}
