/**
 * Runs assigned tasks, each in its own compute worker driven through comlink,
 * and reports what they do. Stopping a task terminates its worker: the program
 * never has to cooperate.
 *
 * Each task also gets a checkpoint worker (task-checkpointing.ts) that saves
 * a checkpoint every `checkpointIntervalMs` to this origin's IndexedDB. If it
 * cannot start (no IndexedDB, say), the task runs on without checkpoints.
 * A task that finishes, fails or is cancelled deletes its checkpoints; one
 * whose lease was lost keeps them (issue 5 resumes from them).
 */
import * as Comlink from 'comlink';
import type { OutputStream } from '../../shared/states.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { ComputeWorkerApi, TaskOutcome, TaskSpec } from '../runtime/task-protocol.ts';
import { startCheckpointing } from './task-checkpointing.ts';
import type { CommittedCheckpoint, TaskCheckpointing } from './task-checkpointing.ts';

const COMPUTE_WORKER_URL = '/build/compute-worker.js';

/** Where a task's events go (the coordinator connection). */
export interface TaskReporter {
  output(task: TaskAssignment, stream: OutputStream, data: Uint8Array): void;
  progress(task: TaskAssignment, fraction: number): void;
  finished(task: TaskAssignment, outcome: TaskOutcome): void;
  failed(task: TaskAssignment, error: { name: string; message: string }): void;
  checkpointed(task: TaskAssignment, checkpoint: CommittedCheckpoint): void;
}

export interface RunningTask {
  readonly assignment: TaskAssignment;
  readonly startedAt: number;
  progress: number;
}

interface Entry extends RunningTask {
  readonly worker: Worker;
  checkpointing?: TaskCheckpointing;
}

function taskSpec(a: TaskAssignment): TaskSpec {
  const { taskId, args, env, rank, ranks, seed, pageSize, memory, program } = a;
  return { taskId, args, env, rank, ranks, seed, pageSize, memory, programUrl: program.url, format: program.format, programName: program.name };
}

export class TaskHost {
  readonly #running = new Map<string, Entry>();

  constructor(
    private readonly reporter: TaskReporter,
    private readonly onChange: () => void,
  ) {}

  get size(): number {
    return this.#running.size;
  }

  tasks(): RunningTask[] {
    return [...this.#running.values()];
  }

  /** Lease tokens of every running task. */
  leases(): string[] {
    return this.tasks().map((t) => t.assignment.lease);
  }

  start(assignment: TaskAssignment): void {
    const worker = new Worker(COMPUTE_WORKER_URL, { type: 'module', name: `task ${assignment.taskId}` });
    const entry: Entry = { assignment, worker, startedAt: performance.now(), progress: 0 };
    this.#running.set(assignment.lease, entry);
    void this.#run(entry);
    this.onChange();
  }

  async #run(entry: Entry): Promise<void> {
    const { assignment, worker } = entry;
    const live = () => this.#running.get(assignment.lease) === entry;
    const spec = taskSpec(assignment);
    try {
      entry.checkpointing = await startCheckpointing({
        taskId: assignment.taskId,
        memory: assignment.memory,
        pageSize: assignment.pageSize,
        intervalMs: assignment.checkpointIntervalMs,
        tracking: assignment.program.format === 'wasm' ? 'barrier' : 'diff',
        resume: false,
        onReport: (report) => live() && this.reporter.checkpointed(assignment, report),
        onProblem: (problem) => console.warn(`[task ${assignment.taskId}] ${problem}`),
      });
      if (!live()) return entry.checkpointing.terminate();
      spec.checkpoint = entry.checkpointing.link;
    } catch (error) {
      console.warn(`[task ${assignment.taskId}] runs without checkpoints:`, error);
    }
    const api = Comlink.wrap<ComputeWorkerApi>(worker);
    const callbacks = Comlink.proxy({
      output: (stream: OutputStream, data: Uint8Array) => {
        if (live()) this.reporter.output(assignment, stream, data);
      },
      progress: (fraction: number) => {
        if (!live()) return;
        entry.progress = fraction;
        this.reporter.progress(assignment, fraction);
        this.onChange();
      },
      suspended: (seq: number, stopMs: number) => entry.checkpointing?.suspended(seq, stopMs),
    });
    worker.addEventListener('error', (event) => {
      if (live()) this.#end(entry, { name: 'WorkerError', message: event.message || 'the compute worker failed to load' });
    });
    await api.run(spec, callbacks).then(
      (outcome) => live() && this.#end(entry, outcome),
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        if (live()) this.#end(entry, { name: e.name || 'Error', message: e.message });
      },
    );
  }

  /**
   * Stops tasks without reporting them (their leases are gone, or the job was
   * cancelled). `keepCheckpoints` when the task may come back here (issue 5).
   */
  stop(leases: Iterable<string>, keepCheckpoints = true): void {
    for (const lease of leases) {
      const entry = this.#running.get(lease);
      if (!entry) continue;
      entry.worker.terminate();
      void entry.checkpointing?.close(!keepCheckpoints);
      this.#running.delete(lease);
    }
    this.onChange();
  }

  /** Stops every task whose lease is not in `keep`. */
  keepOnly(keep: readonly string[]): void {
    this.stop(this.leases().filter((l) => !keep.includes(l)));
  }

  byTaskId(taskId: string): RunningTask | undefined {
    return this.tasks().find((t) => t.assignment.taskId === taskId);
  }

  #end(entry: Entry, result: TaskOutcome | { name: string; message: string }): void {
    entry.worker.terminate();
    void entry.checkpointing?.close(true);
    this.#running.delete(entry.assignment.lease);
    if ('exitCode' in result) this.reporter.finished(entry.assignment, result);
    else this.reporter.failed(entry.assignment, result);
    this.onChange();
  }
}
