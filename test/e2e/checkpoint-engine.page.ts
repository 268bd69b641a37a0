/**
 * The page side of checkpoint-engine.test.ts, bundled at test time and
 * injected into a cross-origin-isolated page. It starts the real checkpoint
 * worker and a synthetic compute worker (both from blob: URLs of bundles the
 * test hands over), collects the compute worker's oracles and the checkpoint
 * worker's reports, then restores every committed checkpoint from the real
 * IndexedDB and compares it with its oracle.
 */
import { CheckpointChannel } from '../../client/checkpoint/checkpoint-channel.ts';
import { CheckpointStore } from '../../client/checkpoint/checkpoint-store.ts';
import type { CheckpointReport } from '../../client/checkpoint/checkpoint-session.ts';
import type { CheckpointWorkerEvent, CheckpointWorkerStart } from '../../client/checkpoint/checkpoint-worker-protocol.ts';
import { createShadowMemory } from '../../client/checkpoint/page-diff.ts';
import { restoreCheckpoint } from '../../client/checkpoint/restore.ts';
import { createTrackerBuffers, readTrackerStats } from '../../client/checkpoint/tracker-words.ts';
import type { ComputeEvent, ComputeStart } from './checkpoint-engine.compute.ts';

export interface EngineRun {
  taskId: string;
  seed: number;
  steps: number;
  pageSize: number;
  poolSlots: number;
  /** Which checkpoint worker bundle: the real one or the one whose commits fail now and then. */
  worker: 'real' | 'faulty';
  /** How the compute side finds dirty pages: the write barrier, or comparison with a shadow (page-diff.ts). @default 'barrier' */
  tracking?: 'barrier' | 'diff';
  /** Terminate the checkpoint worker this many ms after the suspension of checkpoint `kill.seq`. */
  kill?: { seq: number; afterMs: number };
}

export interface EngineResult {
  suspended: number[];
  committed: number[];
  failed: number[];
  /** seq → first differing byte of the restore (-1: identical, -2: wrong state, -3: missing). */
  mismatches: Record<number, number>;
  /** Manifests in the store after the run. */
  manifests: number[];
  rebuilt: number[];
  cowCopies: number;
  poolFullWaits: number;
  computeError?: string;
  reports: CheckpointReport[];
}

const code = { real: '', faulty: '', compute: '' };
const WASM_PAGE = 65536;

function workerFrom(source: string): Worker {
  return new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), { type: 'module' });
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(options: EngineRun): Promise<EngineResult> {
  const maxBytes = 64 * WASM_PAGE; // 4 MiB
  const memory = new WebAssembly.Memory({ initial: 8, maximum: maxBytes / WASM_PAGE, shared: true });
  const buffers = createTrackerBuffers({ maxBytes, pageSize: options.pageSize, poolSlots: options.poolSlots });
  const channel = CheckpointChannel.create();
  // Tracking by comparison: the checkpoint worker saves from the shadow the compute side freezes at each stop.
  const shadow = options.tracking === 'diff' ? createShadowMemory(maxBytes) : undefined;
  const oracles = new Map<number, { bytes: Uint8Array; state: unknown }>();
  const result: EngineResult = { suspended: [], committed: [], failed: [], mismatches: {}, manifests: [], rebuilt: [], cowCopies: 0, poolFullWaits: 0, reports: [] };

  const checkpointer = workerFrom(code[options.worker]);
  let killed = false;
  const settled = new Set<number>();
  const ready = new Promise<void>((resolve, reject) => {
    checkpointer.onmessage = (event: MessageEvent<CheckpointWorkerEvent>) => {
      const e = event.data;
      if (e.type === 'ready') resolve();
      else if (e.type === 'committed') {
        result.committed.push(e.report.seq);
        result.reports.push(e.report);
        settled.add(e.report.seq);
      } else if (e.type === 'failed') {
        result.failed.push(e.seq);
        settled.add(e.seq);
      } else if (e.type === 'error') reject(new Error(`checkpoint worker: ${e.error.name}: ${e.error.message}`));
    };
    checkpointer.onerror = (event) => reject(new Error(`checkpoint worker: ${event.message}`));
  });
  const start: CheckpointWorkerStart = { type: 'start', taskId: options.taskId, buffers, channel: channel.buffer, memory: shadow ?? memory, parent: null };
  checkpointer.postMessage(start);
  await ready;

  const compute = workerFrom(code.compute);
  const done = new Promise<ComputeEvent & { type: 'done' }>((resolve) => {
    compute.onmessage = (event: MessageEvent<ComputeEvent>) => {
      const e = event.data;
      if (e.type === 'done') return resolve(e);
      result.suspended.push(e.seq);
      if (e.rebuilt) result.rebuilt.push(e.seq);
      oracles.set(e.seq, { bytes: new Uint8Array(e.oracle), state: e.state });
      if (options.kill && e.seq === options.kill.seq) {
        setTimeout(() => {
          killed = true;
          checkpointer.terminate();
          compute.terminate();
          resolveKill();
        }, options.kill.afterMs);
      }
    };
    compute.onerror = (event) => resolve({ type: 'done', steps: -1, suspensions: -1, error: event.message });
  });
  let resolveKill = () => {};
  const killedPromise = new Promise<void>((resolve) => (resolveKill = resolve));
  const message: ComputeStart = { buffers, channel: channel.buffer, memory, seed: options.seed, steps: options.steps, requestChance: 0.02, growChance: 0.01, maxWritesPerStep: 40, ...(shadow && { shadow }) };
  compute.postMessage(message);
  const outcome = await Promise.race([done, killedPromise.then(() => undefined)]);
  if (outcome?.error) result.computeError = outcome.error;
  if (!killed) {
    // Every suspension gets a committed or failed report before the compute worker's last wait ends.
    for (let i = 0; i < 200 && result.suspended.some((s) => !settled.has(s)); i++) await delay(25);
    checkpointer.postMessage({ type: 'close' });
    await delay(20);
    checkpointer.terminate();
    compute.terminate();
  }
  const stats = readTrackerStats(buffers.tracker);
  result.cowCopies = stats.cowCopies;
  result.poolFullWaits = stats.poolFullWaits;

  const store = await CheckpointStore.open();
  try {
    result.manifests = (await store.manifests(options.taskId)).map((m) => m.seq);
    // Every manifest in the store, reported or not (a kill may beat the report), must restore its oracle.
    for (const seq of new Set([...result.manifests, ...result.committed])) {
      const oracle = oracles.get(seq);
      const restored = await restoreCheckpoint(store, options.taskId, { seq });
      if (!oracle || !restored) result.mismatches[seq] = -3;
      else if (JSON.stringify(restored.state) !== JSON.stringify(oracle.state)) result.mismatches[seq] = -2;
      else result.mismatches[seq] = firstDifference(restored.memory, oracle.bytes);
    }
  } finally {
    store.close();
  }
  return result;
}

export const harness = {
  setCode(real: string, faulty: string, compute: string): void {
    Object.assign(code, { real, faulty, compute });
  },
  run,
  isolated: () => crossOriginIsolated,
};
export type Harness = typeof harness;

(globalThis as unknown as { engineHarness: Harness }).engineHarness = harness;
