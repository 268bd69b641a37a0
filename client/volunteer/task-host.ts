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
 *
 * Migration (issue 4): asked to, the host takes a checkpoint now, halts the
 * task (terminates its compute worker), uploads that checkpoint and says so;
 * the coordinator gives the task to another volunteer, whose host fetches
 * the chain, imports it into its own IndexedDB and resumes from it.
 */
import * as Comlink from 'comlink';
import type { OutputStream } from '../../shared/states.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { ComputeWorkerApi, TaskOutcome, TaskSpec } from '../runtime/task-protocol.ts';
import type { CheckpointTransport } from './checkpoint-transport.ts';
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
  /** Gives the task back unfinished: it runs again elsewhere, from the start. */
  released(task: TaskAssignment): void;
}

export interface RunningTask {
  readonly assignment: TaskAssignment;
  readonly startedAt: number;
  progress: number;
}

interface Entry extends RunningTask {
  readonly worker: Worker;
  checkpointing?: TaskCheckpointing;
  /** Halted for a migration: the entry stays (its lease too) until the upload is done, but nothing it does counts. */
  halted?: boolean;
}

function taskSpec(a: TaskAssignment): TaskSpec {
  const { taskId, args, env, rank, ranks, seed, pageSize, memory, program } = a;
  return { taskId, args, env, rank, ranks, seed, pageSize, memory, programUrl: program.url, format: program.format, programName: program.name };
}

export class TaskHost {
  readonly #running = new Map<string, Entry>();

  constructor(
    private readonly reporter: TaskReporter,
    private readonly transport: CheckpointTransport,
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
    const live = () => this.#running.get(assignment.lease) === entry && !entry.halted;
    const spec = taskSpec(assignment);
    const { resume } = assignment;
    try {
      const seed = resume && { chain: resume.chain, segments: await this.transport.fetch(assignment, resume.chain) };
      if (!live()) return;
      entry.checkpointing = await startCheckpointing({
        taskId: assignment.taskId,
        memory: assignment.memory,
        pageSize: assignment.pageSize,
        intervalMs: assignment.checkpointIntervalMs,
        tracking: assignment.program.format === 'wasm' ? 'barrier' : 'diff',
        resume: resume !== undefined,
        ...(seed && { seed }),
        onReport: (report) => live() && this.reporter.checkpointed(assignment, report),
        onProblem: (problem) => console.warn(`[task ${assignment.taskId}] ${problem}`),
      });
      if (!live()) return entry.checkpointing.terminate();
      spec.checkpoint = entry.checkpointing.link;
      if (resume) {
        const restored = entry.checkpointing.restored?.seq;
        if (restored !== resume.seq) throw new Error(`restored checkpoint ${restored ?? 'none'} instead of ${resume.seq}`);
        await this.transport.resumed(assignment, resume.seq, 'coordinator');
      }
    } catch (error) {
      // The coordinator already cut the output to the checkpoint's: such a task cannot start over here.
      if (resume) return void (live() && this.#end(entry, { name: 'InvalidCheckpoint', message: `cannot resume from checkpoint ${resume.seq}: ${String(error)}` }));
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

  /**
   * Moves a task to another volunteer: checkpoint now, halt, upload, tell the
   * coordinator. A task that is not checkpointed is given back to start over.
   */
  async migrate(taskId: string): Promise<void> {
    const entry = [...this.#running.values()].find((e) => e.assignment.taskId === taskId);
    if (!entry) return;
    const { assignment, checkpointing } = entry;
    const live = () => this.#running.get(assignment.lease) === entry;
    try {
      if (!checkpointing) throw new Error('it runs without checkpoints');
      const { seq } = await checkpointing.checkpointNow();
      if (!live()) return; // it ended meanwhile
      // Halted: what it computes or prints after checkpoint `seq` does not count (the coordinator cuts the output there).
      // The entry stays until the coordinator has the checkpoint, so heartbeats keep the lease. Chromium lets a busy
      // worker run on for up to 2 s after terminate() (Blink's forcible termination delay): `halted` mutes it meanwhile.
      entry.halted = true;
      entry.worker.terminate();
      await this.transport.upload(assignment, await checkpointing.exportChain(seq));
      await this.transport.halted(assignment, seq);
    } catch (error) {
      console.warn(`[task ${taskId}] migration failed; giving the task back:`, error);
      if (live()) this.reporter.released(assignment);
    }
    this.stop([assignment.lease]);
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
