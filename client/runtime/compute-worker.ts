/**
 * Entry of the compute worker bundle (public/build/compute-worker.js, an ES
 * module worker): one task per worker; the page cancels a task by terminating it.
 *
 *   const worker = new Worker('/build/compute-worker.js', { type: 'module' });
 *   const outcome = await Comlink.wrap<ComputeWorkerApi>(worker).run(spec, Comlink.proxy(callbacks));
 *
 * Job code runs here, so before anything else the global scope loses its
 * network and storage APIs (global-lockdown.ts); the script is served with
 * COMPUTE_WORKER_CSP, which blocks whatever is left (dynamic `import()`).
 */
import * as Comlink from 'comlink';
import { lockDownGlobalScope } from './global-lockdown.ts';
import { createComputeWorkerApi } from './task-runner.ts';

lockDownGlobalScope(self);

Comlink.expose(
  createComputeWorkerApi({
    transfer: Comlink.transfer,
    // The page is gone or its handler threw; the task itself is not affected.
    onCallbackError: (error) => console.warn('[compute-worker] a callback to the page failed', error),
  }),
);
