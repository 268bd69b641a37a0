/**
 * The page side of checkpoint.bench.ts: starts the real checkpoint worker and
 * the bench compute worker on one 256 MiB shared memory and returns what both
 * reported. Bundled at bench time, injected into a cross-origin-isolated page.
 */
import { CheckpointChannel } from '../../client/checkpoint/checkpoint-channel.ts';
import type { CheckpointWriterOptions } from '../../client/checkpoint/checkpoint-store.ts';
import type { CheckpointReport } from '../../client/checkpoint/checkpoint-session.ts';
import type { CheckpointWorkerEvent, CheckpointWorkerStart } from '../../client/checkpoint/checkpoint-worker-protocol.ts';
import { createTrackerBuffers, readTrackerStats } from '../../client/checkpoint/tracker-words.ts';
import type { TrackerStats } from '../../client/checkpoint/tracker-words.ts';
import { openDB } from 'idb';
import type { BenchComputeMessage, BenchComputeResult, BenchComputeStart } from './checkpoint-bench.compute.ts';

/** Raw writes under load: enough to take a few hundred ms, not to fill the disk. */
const RAW_LOADED_MIB = 64;

/** Writes `mib` fresh 1 MiB records in one relaxed transaction, then a strict one (the commit point); MB/s. */
async function rawPutRate(mib: number): Promise<number> {
  const db = await openDB('bench-raw-loaded', 1, { upgrade: (d) => d.createObjectStore('segments') });
  const records = Array.from({ length: mib }, (_, i) => new Uint8Array(1 << 20).fill(i + 1).buffer);
  const t0 = performance.now();
  const tx = db.transaction('segments', 'readwrite', { durability: 'relaxed' });
  await Promise.all([...records.map((r, i) => tx.store.put(r, i)), tx.done]);
  await db.put('segments', new ArrayBuffer(8), 'manifest');
  const ms = performance.now() - t0;
  db.close();
  return (mib * 2 ** 20) / 1e6 / (ms / 1000);
}

export interface BenchRunOptions {
  memoryMiB: number;
  pageSize: number;
  poolSlots: number;
  dirtyPerSecond: number;
  warmupMs: number;
  phaseMs: number;
  pairs: number;
  intervalMs: number;
  writer: CheckpointWriterOptions;
}

export interface BenchRunResult {
  compute: BenchComputeResult;
  /** Raw 1 MiB puts from this page while the compute loop ran without checkpoints. */
  rawLoadedMBps: number;
  reports: CheckpointReport[];
  failures: string[];
  stats: TrackerStats;
}

const workerFrom = (source: string) => new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), { type: 'module' });

async function run(checkpointCode: string, computeCode: string, options: BenchRunOptions): Promise<BenchRunResult> {
  const maxBytes = options.memoryMiB << 20;
  const memory = new WebAssembly.Memory({ initial: maxBytes / 65536, maximum: maxBytes / 65536, shared: true });
  const buffers = createTrackerBuffers({ maxBytes, pageSize: options.pageSize, poolSlots: options.poolSlots });
  const channel = CheckpointChannel.create();
  const reports: CheckpointReport[] = [];
  const failures: string[] = [];
  const checkpointer = workerFrom(checkpointCode);
  await new Promise<void>((resolve, reject) => {
    checkpointer.onmessage = (event: MessageEvent<CheckpointWorkerEvent>) => {
      const e = event.data;
      if (e.type === 'ready') resolve();
      else if (e.type === 'committed') reports.push(e.report);
      else if (e.type === 'failed') failures.push(`${e.seq}: ${e.error.name}: ${e.error.message}`);
      else if (e.type === 'error') reject(new Error(e.error.message));
    };
    const start: CheckpointWorkerStart = { type: 'start', taskId: `bench-${Date.now()}`, buffers, channel: channel.buffer, memory, parent: null, dbName: 'bench-checkpoints', writer: options.writer };
    checkpointer.postMessage(start);
  });
  const compute = workerFrom(computeCode);
  const rawDone = new SharedArrayBuffer(4);
  let rawLoadedMBps = 0;
  const result = await new Promise<BenchComputeResult>((resolve, reject) => {
    compute.onmessage = (event: MessageEvent<BenchComputeMessage>) => {
      const message = event.data;
      if (message.type === 'result') return resolve(message.result);
      rawPutRate(RAW_LOADED_MIB).then((rate) => {
        rawLoadedMBps = rate;
        Atomics.store(new Int32Array(rawDone), 0, 1);
      }, reject);
    };
    compute.onerror = (event) => reject(new Error(event.message));
    const { dirtyPerSecond, warmupMs, phaseMs, pairs, intervalMs } = options;
    compute.postMessage({ buffers, channel: channel.buffer, memory, dirtyPerSecond, warmupMs, phaseMs, pairs, intervalMs, rawDone } satisfies BenchComputeStart);
  });
  compute.terminate();
  checkpointer.terminate();
  return { compute: result, rawLoadedMBps, reports, failures, stats: readTrackerStats(buffers.tracker) };
}

(globalThis as unknown as { checkpointBench: { run: typeof run } }).checkpointBench = { run };
