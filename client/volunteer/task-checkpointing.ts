/**
 * Sets up checkpointing for one task on the page (DESIGN.md §2, §4): the
 * shared process memory, the shadow its compute worker freezes it into, the
 * tracker and channel, and the task's checkpoint worker, which requests a
 * checkpoint every `intervalMs` and saves each one to this origin's
 * IndexedDB. When asked to resume, the worker first rebuilds the newest local
 * checkpoint into the memory, and the tracker starts at the interval after it.
 *
 * Reports join here: the compute worker says how long it stopped for
 * checkpoint k, the checkpoint worker says what k stored; `onReport` gets
 * both once k is committed, whichever message came second.
 */
import type { MemoryLimits } from '../../shared/volunteer-protocol.ts';
import { CheckpointChannel } from '../checkpoint/checkpoint-channel.ts';
import type { CheckpointReport } from '../checkpoint/checkpoint-session.ts';
import type { RestoredCheckpoint } from '../checkpoint/checkpoint-worker-protocol.ts';
import { createShadowMemory } from '../checkpoint/page-diff.ts';
import { createTrackerBuffers } from '../checkpoint/tracker-words.ts';
import type { CheckpointLink } from '../runtime/task-protocol.ts';
import { CheckpointWorkerClient } from './checkpoint-worker-client.ts';

const WASM_PAGE = 65536;

/** A committed checkpoint with the stop that began it. */
export interface CommittedCheckpoint extends CheckpointReport {
  stopMs: number;
}

export interface CheckpointingOptions {
  taskId: string;
  memory: MemoryLimits;
  pageSize: number;
  intervalMs: number;
  /** Continue from this volunteer's newest checkpoint of the task, if it holds one. */
  resume: boolean;
  onReport(report: CommittedCheckpoint): void;
  onProblem(problem: string): void;
  /** @default CHECKPOINT_WORKER_URL */
  workerUrl?: string;
  /** @default CHECKPOINT_DB_NAME */
  dbName?: string;
}

export interface TaskCheckpointing {
  /** Hand to the compute worker in the task's spec. */
  link: CheckpointLink;
  /** What the run resumed from, if it did. */
  restored: RestoredCheckpoint | null;
  /** The compute worker stopped `stopMs` to begin checkpoint `seq`. */
  suspended(seq: number, stopMs: number): void;
  /** Ends checkpointing; `deleteCheckpoints` when the task is over. */
  close(deleteCheckpoints: boolean): Promise<void>;
  terminate(): void;
}

export async function startCheckpointing(options: CheckpointingOptions): Promise<TaskCheckpointing> {
  const stops = new Map<number, number>();
  const committed = new Map<number, CheckpointReport>();
  const join = (seq: number) => {
    const stopMs = stops.get(seq);
    const report = committed.get(seq);
    if (stopMs === undefined || report === undefined) return;
    stops.delete(seq);
    committed.delete(seq);
    options.onReport({ ...report, stopMs });
  };
  const worker = new CheckpointWorkerClient(
    `checkpoints ${options.taskId}`,
    {
      committed: (report) => {
        committed.set(report.seq, report);
        join(report.seq);
      },
      failed: (seq, error) => {
        stops.delete(seq);
        options.onProblem(`checkpoint ${seq} did not commit: ${error.name}: ${error.message}`);
      },
      broken: (error) => options.onProblem(`the checkpoint worker failed: ${error.name}: ${error.message}`),
    },
    options.workerUrl,
  );
  try {
    const { taskId, pageSize } = options;
    const memory = new WebAssembly.Memory({ initial: options.memory.initial, maximum: options.memory.maximum, shared: true });
    const restored = options.resume ? await worker.restore(taskId, memory, options.dbName) : null;
    const maxBytes = options.memory.maximum * WASM_PAGE;
    const buffers = createTrackerBuffers({ maxBytes, pageSize, firstInterval: restored ? restored.seq + 1 : 1 });
    const channel = CheckpointChannel.create();
    const shadow = createShadowMemory(maxBytes);
    await worker.start({
      taskId,
      buffers,
      channel: channel.buffer,
      memory: shadow,
      parent: restored?.seq ?? null,
      intervalMs: options.intervalMs,
      ...(options.dbName === undefined ? {} : { dbName: options.dbName }),
    });
    const link: CheckpointLink = { memory, shadow, buffers, channel: channel.buffer, ...(restored && { resume: { seq: restored.seq, state: restored.state } }) };
    return {
      link,
      restored,
      suspended: (seq, stopMs) => {
        stops.set(seq, stopMs);
        join(seq);
      },
      close: (deleteCheckpoints) => worker.close(deleteCheckpoints),
      terminate: () => worker.terminate(),
    };
  } catch (error) {
    worker.terminate();
    throw error;
  }
}
