/**
 * The page side of the wasm bench's checkpointed runs (wasm-checkpoint-measure.ts):
 * one task run the way the volunteer's task host runs it. startCheckpointing
 * (tracking 'barrier') gives the process memory, the tracker memory the
 * instrumented module imports, the channel, and the real checkpoint worker,
 * which requests a checkpoint every `intervalMs` and saves each one to this
 * origin's IndexedDB; the compute worker is the volunteer's, with a probe that
 * times the stops (wasm-checkpoint.compute.ts). The checkpoints are deleted
 * when the run ends, as a finished task's are.
 */
import * as Comlink from 'comlink';
import type { OutputStream } from '../../shared/states.ts';
import { DEFAULT_PAGE_SIZE } from '../../shared/limits.ts';
import type { MemoryLimits } from '../../shared/volunteer-protocol.ts';
import type { TaskSpec } from '../../client/runtime/task-protocol.ts';
import { startCheckpointing } from '../../client/volunteer/task-checkpointing.ts';
import type { CommittedCheckpoint } from '../../client/volunteer/task-checkpointing.ts';
import type { ProbedComputeWorker, ProbedRun } from './wasm-checkpoint.compute.ts';

/** Where wasm-bench-browser.ts serves the two worker bundles. */
export const CHECKPOINT_WORKER_PATH = '/checkpoint-worker.js';
export const COMPUTE_WORKER_PATH = '/wasm-checkpoint-compute.js';

export interface CheckpointedTask {
  taskId: string;
  programUrl: string;
  argv: string[];
  memory: MemoryLimits;
  /** A checkpoint request this often; a larger value than the run lasts means none. */
  intervalMs: number;
}

export interface CheckpointedRun extends Omit<ProbedRun, 'outcome'> {
  exitCode: number;
  stdout: string;
  checkpoints: Pick<CommittedCheckpoint, 'seq' | 'pages' | 'stopMs' | 'saveMs' | 'cowCopies'>[];
  problems: string[];
}

export async function checkpointedRun(task: CheckpointedTask): Promise<CheckpointedRun> {
  const checkpoints: CheckpointedRun['checkpoints'] = [];
  const problems: string[] = [];
  const checkpointing = await startCheckpointing({
    taskId: task.taskId,
    memory: task.memory,
    pageSize: DEFAULT_PAGE_SIZE,
    intervalMs: task.intervalMs,
    tracking: 'barrier',
    resume: false,
    onReport: ({ seq, pages, stopMs, saveMs, cowCopies }) => checkpoints.push({ seq, pages, stopMs, saveMs, cowCopies }),
    onProblem: (problem) => problems.push(problem),
    workerUrl: CHECKPOINT_WORKER_PATH,
    dbName: 'wasm-bench-checkpoints',
  });
  const worker = new Worker(COMPUTE_WORKER_PATH, { type: 'module' });
  try {
    const spec: TaskSpec = {
      taskId: task.taskId,
      programUrl: task.programUrl,
      format: 'wasm',
      programName: task.argv[0]!,
      args: task.argv.slice(1),
      env: {},
      rank: 0,
      ranks: 1,
      seed: 1,
      pageSize: DEFAULT_PAGE_SIZE,
      memory: task.memory,
      checkpoint: checkpointing.link,
    };
    const chunks: string[] = [];
    const decoder = new TextDecoder('latin1');
    const callbacks = Comlink.proxy({
      output: (stream: OutputStream, data: Uint8Array) => void (stream === 'stdout' && chunks.push(decoder.decode(data))),
      progress: () => {},
      suspended: (seq: number, stopMs: number) => checkpointing.suspended(seq, stopMs),
    });
    const { outcome, ...probed } = await Comlink.wrap<ProbedComputeWorker>(worker).run(spec, callbacks);
    await checkpointing.close(true);
    return { ...probed, exitCode: outcome.exitCode, stdout: chunks.join(''), checkpoints, problems };
  } catch (error) {
    checkpointing.terminate();
    throw error;
  } finally {
    worker.terminate();
  }
}
