/**
 * Sets up checkpointing for one task on the page (DESIGN.md §2, §4): the
 * shared process memory, the tracker (a shared WebAssembly.Memory, so that
 * instrumented wasm can import it) and channel, for a JS program the shadow
 * its compute worker freezes the memory into, and the task's checkpoint
 * worker, which saves from that shadow or, for instrumented wasm, from the
 * live memory under the write barrier's protection. That worker requests a
 * checkpoint every `intervalMs` and saves each one to this origin's
 * IndexedDB. When asked to resume, the worker first rebuilds the newest local
 * checkpoint into the memory, and the tracker starts at the interval after it.
 *
 * Reports join here: the compute worker says how long it stopped for
 * checkpoint k, the checkpoint worker says what k stored; `onReport` gets
 * both once k is committed, whichever message came second.
 *
 * A checkpoint worker that fails is replaced (a few times at most): the
 * channel tells the compute side to take back the protection the dead one
 * held, and once it has, a new worker builds on the newest committed
 * checkpoint; the next checkpoint holds everything since that one.
 *
 * When IndexedDB is full or the browser deletes it (site data cleared), the
 * worker keeps checkpoints for the coordinator only and says so; when the
 * local checkpoint to resume from cannot be read, the coordinator's copy is
 * imported instead (`fallbackSeed`).
 */
import type { CheckpointManifest } from '../../shared/checkpoint-format.ts';
import type { TrackerBuffers } from '../../shared/tracker-layout.ts';
import type { MemoryLimits } from '../../shared/volunteer-protocol.ts';
import { CheckpointChannel } from '../checkpoint/checkpoint-channel.ts';
import type { CoordinatorOnlyReason } from '../checkpoint/checkpoint-loop.ts';
import type { CheckpointReport } from '../checkpoint/checkpoint-session.ts';
import type { RestoredCheckpoint, SerializedError } from '../checkpoint/checkpoint-worker-protocol.ts';
import { createShadowMemory } from '../checkpoint/page-diff.ts';
import { requestCheckpoint } from '../checkpoint/tracker-words.ts';
import { createTrackerMemory } from '../runtime/checkpointable/tracker-memory.ts';
import type { CheckpointLink } from '../runtime/task-protocol.ts';
import { CheckpointWorkerClient } from './checkpoint-worker-client.ts';
import type { CommittedSource } from './checkpoint-uploader.ts';

const WASM_PAGE = 65536;
/** Replacements of a failed checkpoint worker per task before checkpointing stops. */
const MAX_REPLACEMENTS = 3;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A committed checkpoint with the stop that began it. */
export interface CommittedCheckpoint extends CheckpointReport {
  stopMs: number;
}

export interface CheckpointingOptions {
  taskId: string;
  memory: MemoryLimits;
  pageSize: number;
  intervalMs: number;
  /**
   * How written pages are found: `barrier` when the program marks them itself
   * (instrumented wasm), `diff` by comparison with a shadow copy (JS).
   */
  tracking: 'barrier' | 'diff';
  /** Continue from this volunteer's newest checkpoint of the task, if it holds one. */
  resume: boolean;
  /** With `resume`: continue from this local checkpoint instead of the newest (the newer ones are dropped). */
  resumeAt?: number;
  /** A chain from the coordinator (its segments by hash) to replace the task's local checkpoints first: `resume` then continues from it. */
  seed?: { chain: CheckpointManifest[]; segments: Map<string, ArrayBuffer> };
  /**
   * With `resume` from a local checkpoint: where to get the coordinator's copy
   * if the local one cannot be read (it is then imported, as a `seed` would be).
   */
  fallbackSeed?: () => Promise<{ chain: CheckpointManifest[]; segments: Map<string, ArrayBuffer> }>;
  /** Hand each committed checkpoint's segment bytes to `onReport` (in `segments`), for an upload. */
  keepSegments?: boolean;
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
  /**
   * Asks for a checkpoint now; resolves with the first one committed that
   * the compute side began after this call (or just before: one whose stop
   * had not reached the page yet).
   */
  checkpointNow(): Promise<CommittedCheckpoint>;
  /** Committed checkpoints, read for an upload (the current checkpoint worker's store). */
  committed: CommittedSource;
  /** The task halts: no checkpoint is taken after those committed or being saved (resolves once those settled). */
  halt(): Promise<void>;
  /** The coordinator holds checkpoint `seq`: the local chain up to it may be compacted. */
  compact(seq: number): Promise<void>;
  /** Swaps the checkpoint worker for a new one (it failed or stopped answering); resolves once the new one runs. */
  replaceWorker(reason: string): Promise<void>;
  /** Ends checkpointing; `deleteCheckpoints` when the task is over. */
  close(deleteCheckpoints: boolean): Promise<void>;
  terminate(): void;
}

export async function startCheckpointing(options: CheckpointingOptions): Promise<TaskCheckpointing> {
  const stops = new Map<number, number>();
  const committed = new Map<number, CheckpointReport>();
  /** The newest stop the page heard of, and who waits for a checkpoint begun after a given one. */
  let lastStop = 0;
  const waiters: { after: number; resolve: (report: CommittedCheckpoint) => void }[] = [];
  const join = (seq: number) => {
    const stopMs = stops.get(seq);
    const report = committed.get(seq);
    if (stopMs === undefined || report === undefined) return;
    stops.delete(seq);
    committed.delete(seq);
    const joined = { ...report, stopMs };
    options.onReport(joined);
    for (const waiter of waiters.filter((w) => seq > w.after)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(joined);
    }
  };
  let closed = false;
  let replacements = 0;
  const handlers = {
    committed: (report: CheckpointReport) => {
      committed.set(report.seq, report);
      join(report.seq);
    },
    failed: (seq: number, error: SerializedError) => {
      stops.delete(seq);
      options.onProblem(`checkpoint ${seq} did not commit: ${error.name}: ${error.message}`);
    },
    broken: (error: SerializedError) => void replaceWorker(`it failed: ${error.name}: ${error.message}`),
    coordinatorOnly: (reason: CoordinatorOnlyReason) =>
      options.onProblem(`${reason === 'quota' ? 'IndexedDB is full' : 'IndexedDB was cleared'}: checkpoints go to the coordinator only from now on`),
  };
  const newWorker = () => new CheckpointWorkerClient(`checkpoints ${options.taskId}`, handlers, options.workerUrl);
  let worker = newWorker();
  const { taskId, pageSize } = options;
  const maxBytes = options.memory.maximum * WASM_PAGE;
  const channel = CheckpointChannel.create();
  const memory = new WebAssembly.Memory({ initial: options.memory.initial, maximum: options.memory.maximum, shared: true });
  const shadow = options.tracking === 'diff' ? createShadowMemory(maxBytes) : undefined;
  const startOptions = (buffers: TrackerBuffers, parent: number | null | 'newest') => ({
    taskId,
    buffers,
    channel: channel.buffer,
    memory: shadow ?? memory,
    parent,
    intervalMs: options.intervalMs,
    ...(options.keepSegments ? { writer: { keepSegments: true } } : {}),
    ...(options.dbName === undefined ? {} : { dbName: options.dbName }),
  });

  let link: CheckpointLink;
  const replaceWorker = async (reason: string) => {
    if (closed) return;
    worker.terminate();
    if (replacements >= MAX_REPLACEMENTS) return options.onProblem(`the checkpoint worker was lost again (${reason}); no more checkpoints for this task`);
    replacements += 1;
    options.onProblem(`replacing the checkpoint worker: ${reason}`);
    stops.clear(); // the checkpoint it was saving will never be reported
    channel.abandon();
    // An instrumented program looks at the channel only at a poll that found a request.
    requestCheckpoint(link.buffers.tracker);
    // The compute side takes the protection back at its next safepoint; no new worker may scan before.
    while (channel.abandoned && !closed) await delay(10);
    if (closed) return;
    worker = newWorker();
    await worker.start(startOptions(link.buffers, 'newest')).catch((error: Error) => handlers.broken({ name: error.name, message: error.message }));
  };

  try {
    if (options.seed) await worker.import(taskId, options.seed.chain, options.seed.segments, options.dbName);
    const restored = options.resume ? await restoreForResume(worker, memory, options) : null;
    const tracker = createTrackerMemory({ maxBytes, pageSize, firstInterval: restored ? restored.seq + 1 : 1 });
    await worker.start(startOptions(tracker.buffers, restored?.seq ?? null));
    link = {
      memory,
      ...(shadow && { shadow }),
      trackerMemory: tracker.memory,
      buffers: tracker.buffers,
      channel: channel.buffer,
      ...(restored && { resume: { seq: restored.seq, state: restored.state } }),
    };
    return {
      link,
      restored,
      suspended: (seq, stopMs) => {
        stops.set(seq, stopMs);
        lastStop = Math.max(lastStop, seq);
        join(seq);
      },
      checkpointNow: () =>
        new Promise((resolve) => {
          waiters.push({ after: lastStop, resolve });
          requestCheckpoint(link.buffers.tracker);
        }),
      committed: { chain: (seq, after) => worker.chain(seq, after), segments: (hashes) => worker.segments(hashes) },
      halt: () => worker.halt(),
      compact: (seq) => worker.compact(seq),
      replaceWorker,
      close: (deleteCheckpoints) => {
        closed = true;
        return worker.close(deleteCheckpoints);
      },
      terminate: () => {
        closed = true;
        worker.terminate();
      },
    };
  } catch (error) {
    worker.terminate();
    throw error;
  }
}

/**
 * Rebuilds the checkpoint to resume from into `memory`: the local one, or,
 * when that cannot be read (the browser deleted it, a segment is gone) and
 * the coordinator's copy is at hand (`fallbackSeed`), that copy.
 */
async function restoreForResume(worker: CheckpointWorkerClient, memory: WebAssembly.Memory, options: CheckpointingOptions): Promise<RestoredCheckpoint | null> {
  const { taskId, dbName, resumeAt } = options;
  try {
    const restored = await worker.restore(taskId, memory, dbName, resumeAt);
    if (!options.fallbackSeed || resumeAt === undefined || restored?.seq === resumeAt) return restored;
    options.onProblem(`local checkpoint ${resumeAt} is gone; resuming from the coordinator's copy`);
  } catch (error) {
    if (!options.fallbackSeed) throw error;
    options.onProblem(`reading local checkpoint ${resumeAt ?? 'newest'} failed (${String(error)}); resuming from the coordinator's copy`);
  }
  const seed = await options.fallbackSeed();
  await worker.import(taskId, seed.chain, seed.segments, dbName);
  return worker.restore(taskId, memory, dbName, resumeAt);
}
