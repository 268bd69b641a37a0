/**
 * The page side of checkpoint.bench.ts: starts the real checkpoint worker and
 * the bench compute worker on one 256 MiB shared memory and returns what both
 * reported. Bundled at bench time, injected into a cross-origin-isolated page.
 */
import { CheckpointChannel } from '../../client/checkpoint/checkpoint-channel.ts';
import type { CheckpointReport } from '../../client/checkpoint/checkpoint-session.ts';
import type { CheckpointWorkerEvent, CheckpointWorkerStart } from '../../client/checkpoint/checkpoint-worker-protocol.ts';
import { createTrackerBuffers, readTrackerStats } from '../../client/checkpoint/tracker-words.ts';
import type { TrackerStats } from '../../client/checkpoint/tracker-words.ts';
import type { BenchComputeResult, BenchComputeStart } from './checkpoint-bench.compute.ts';

export interface BenchRunOptions {
  memoryMiB: number;
  pageSize: number;
  poolSlots: number;
  dirtyPerSecond: number;
  warmupMs: number;
  phaseMs: number;
  pairs: number;
  intervalMs: number;
}

export interface BenchRunResult {
  compute: BenchComputeResult;
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
    const start: CheckpointWorkerStart = { type: 'start', taskId: `bench-${Date.now()}`, buffers, channel: channel.buffer, memory, parent: null, dbName: 'bench-checkpoints' };
    checkpointer.postMessage(start);
  });
  const compute = workerFrom(computeCode);
  const result = await new Promise<BenchComputeResult>((resolve, reject) => {
    compute.onmessage = (event: MessageEvent<BenchComputeResult>) => resolve(event.data);
    compute.onerror = (event) => reject(new Error(event.message));
    const { dirtyPerSecond, warmupMs, phaseMs, pairs, intervalMs } = options;
    compute.postMessage({ buffers, channel: channel.buffer, memory, dirtyPerSecond, warmupMs, phaseMs, pairs, intervalMs } satisfies BenchComputeStart);
  });
  compute.terminate();
  checkpointer.terminate();
  return { compute: result, reports, failures, stats: readTrackerStats(buffers.tracker) };
}

(globalThis as unknown as { checkpointBench: { run: typeof run } }).checkpointBench = { run };
