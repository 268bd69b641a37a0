/**
 * The compute worker of the wasm bench's checkpointed runs: the volunteer's
 * own compute worker (client/runtime/compute-worker.ts: the task runner,
 * runWasm, the checkpointable driver, TaskCheckpoints) plus a probe that
 * times each stop of the program where it happens, in this thread.
 *
 * The runtime reports `stopMs` for the part of a stop it owns
 * (CheckpointSafepoint#begin: capture and interval swap). A stop of an
 * instrumented program is longer: the poll calls `ckpt.safepoint`, the
 * driver starts Asyncify's unwind, every frame saves itself on the way out,
 * `_start` returns, the driver captures and begins the checkpoint, starts the
 * rewind and calls `_start` again, every frame restores itself on the way
 * in, and the safepoint is reached again, which ends the rewind. The probe
 * wraps the `ckpt.safepoint` import (by wrapping WebAssembly.instantiate, so
 * no runtime code changes): a stop runs from the call that started an unwind
 * to the return of the call that ended the rewind. A call that starts
 * nothing (a checkpoint still in flight) is counted as declined.
 */
import * as Comlink from 'comlink';
import { AsyncifyExport, AsyncifyState, CKPT_MODULE, CkptImport } from '../../shared/checkpointable-abi.ts';
import { createComputeWorkerApi } from '../../client/runtime/task-runner.ts';
import type { TaskCallbacks, TaskOutcome, TaskSpec } from '../../client/runtime/task-protocol.ts';

export interface ProbedRun {
  outcome: TaskOutcome;
  /** From instantiation to the end of the run (ms): the program's own time, compile and worker start excluded. */
  runMs: number;
  /** Each stop, poll to continuation (ms). */
  stops: number[];
  declined: number;
}

let stops: number[] = [];
let declined = 0;
let instantiatedAt = 0;

const instantiate = WebAssembly.instantiate.bind(WebAssembly);
/** Wraps `ckpt.safepoint` of every instance this worker creates (one per run here). */
WebAssembly.instantiate = (async (source: WebAssembly.Module, imports?: WebAssembly.Imports) => {
  const ckpt = imports?.[CKPT_MODULE];
  const inner = ckpt?.[CkptImport.SAFEPOINT];
  if (!imports || !ckpt || typeof inner !== 'function') return instantiate(source, imports);
  let state: () => number = () => AsyncifyState.NORMAL;
  let stopStart: number | undefined;
  const safepoint = () => {
    const t = performance.now();
    const rewinding = state() === AsyncifyState.REWINDING;
    (inner as () => void)();
    if (rewinding) {
      if (stopStart !== undefined) stops.push(performance.now() - stopStart);
      stopStart = undefined;
    } else if (state() === AsyncifyState.UNWINDING) stopStart = t;
    else declined++;
  };
  const instance = await instantiate(source, { ...imports, [CKPT_MODULE]: { ...ckpt, [CkptImport.SAFEPOINT]: safepoint } });
  state = instance.exports[AsyncifyExport.GET_STATE] as () => number;
  instantiatedAt = performance.now();
  return instance;
}) as typeof WebAssembly.instantiate;

const api = createComputeWorkerApi({ transfer: Comlink.transfer });

const probed = {
  async run(spec: TaskSpec, callbacks: TaskCallbacks): Promise<ProbedRun> {
    stops = [];
    declined = 0;
    const outcome = await api.run(spec, callbacks);
    return { outcome, runMs: performance.now() - instantiatedAt, stops, declined };
  },
};
export type ProbedComputeWorker = typeof probed;

Comlink.expose(probed);
