/**
 * Runs assigned tasks, each in its own compute worker driven through comlink,
 * and reports what they do. Stopping a task terminates its worker: the program
 * never has to cooperate.
 *
 * Each task also gets a checkpoint worker (task-checkpointing.ts) that saves
 * a checkpoint every `checkpointIntervalMs` to this origin's IndexedDB, and
 * an uploader that sends each committed one to the coordinator (issue 5). If
 * checkpointing cannot start (no IndexedDB, say), the task runs on without.
 * A task that finishes, fails or is cancelled deletes its local checkpoints;
 * one halted or lost keeps them, so this volunteer can resume it again.
 *
 * Halting (migration, preemption, this page's pause): take a checkpoint now,
 * terminate the compute worker, make sure the coordinator holds that
 * checkpoint, and say so; the coordinator requeues the task from there. A
 * task given with a checkpoint to continue from resumes from this volunteer's
 * IndexedDB if it holds that checkpoint, else from the coordinator's copy.
 *
 * A rank of a coupled job also gets a RankLink (rank-link.ts): its messages
 * and its coordinated checkpoints, which the coordinator asks for instead of
 * an interval of its own. It cannot halt alone: pausing gives it back, and
 * its job rolls back to its recovery line.
 */
import * as Comlink from 'comlink';
import type { OutputStream } from '../../shared/states.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import type { MessageCounts } from '../runtime/rank-port.ts';
import { createLivenessBuffer } from '../runtime/liveness.ts';
import type { ComputeWorkerApi, TaskOutcome, TaskSpec } from '../runtime/task-protocol.ts';
import type { CheckpointTransport } from './checkpoint-transport.ts';
import { CheckpointUploader } from './checkpoint-uploader.ts';
import { RankLink } from './rank-link.ts';
import type { RankTransport } from './rank-transport.ts';
import type { UploadRecord } from './checkpoint-uploader.ts';
import { ProgramUnreachable, fetchProgramBytes } from './program-bytes.ts';
import { resumeSource } from './task-resume.ts';
import { startCheckpointing } from './task-checkpointing.ts';
import type { CommittedCheckpoint, TaskCheckpointing } from './task-checkpointing.ts';
import { TaskWatchdog } from './task-watchdog.ts';
import type { LocalHolding } from './view.ts';

const COMPUTE_WORKER_URL = '/build/compute-worker.js';
/** A halt gives the task back without a checkpoint if none commits within this long (its checkpoint worker is stuck). */
const HALT_CHECKPOINT_MS = 30_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Where a task's events go (the coordinator connection). */
export interface TaskReporter {
  output(task: TaskAssignment, stream: OutputStream, data: Uint8Array): void;
  progress(task: TaskAssignment, fraction: number): void;
  finished(task: TaskAssignment, outcome: TaskOutcome): void;
  failed(task: TaskAssignment, error: { name: string; message: string }): void;
  checkpointed(task: TaskAssignment, checkpoint: CommittedCheckpoint): void;
  /** Gives the task back unfinished: it runs again elsewhere, from the coordinator's newest checkpoint or the start. */
  released(task: TaskAssignment): void;
  /** A checkpoint reached the coordinator. */
  uploaded(record: UploadRecord): void;
}

export interface RunningTask {
  readonly assignment: TaskAssignment;
  readonly startedAt: number;
  progress: number;
}

interface Entry extends RunningTask {
  readonly worker: Worker;
  checkpointing?: TaskCheckpointing;
  uploader?: CheckpointUploader;
  /** The newest local checkpoint, for the page's list. */
  newest?: { seq: number; bytes: number; at: number };
  /** Halting: the entry stays (its lease too) until the coordinator holds the checkpoint, but nothing it does counts. */
  halted?: boolean;
  /** A rank of a coupled job. */
  rank?: RankLink;
  /** Stops the worker if it stops showing signs of life (task-watchdog.ts). */
  watchdog?: TaskWatchdog;
}

function taskSpec(a: TaskAssignment): TaskSpec {
  const { taskId, args, env, rank, ranks, seed, pageSize, memory, program } = a;
  return { taskId, args, env, rank, ranks, seed, pageSize, memory, programUrl: program.url, format: program.format, programName: program.name };
}

export class TaskHost {
  readonly #running = new Map<string, Entry>();
  /**
   * By task id: the checkpoint worker of a stopped run, still finishing a
   * save or a compaction. A run of the same task given back to this page (a
   * coupled job's rollback) opens its checkpoints only after that.
   */
  readonly #closing = new Map<string, Promise<void>>();

  constructor(
    private readonly reporter: TaskReporter,
    private readonly transport: CheckpointTransport,
    private readonly onChange: () => void,
    private readonly rankTransport?: RankTransport,
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

  /** The newest local checkpoint of each running task. */
  holdings(): LocalHolding[] {
    return [...this.#running.values()].flatMap(({ assignment, newest, uploader }) =>
      newest ? [{ taskId: assignment.taskId, ...newest, acknowledged: (uploader?.acknowledged ?? 0) >= newest.seq }] : [],
    );
  }

  start(assignment: TaskAssignment): void {
    const worker = new Worker(COMPUTE_WORKER_URL, { type: 'module', name: `task ${assignment.taskId}` });
    const entry: Entry = { assignment, worker, startedAt: performance.now(), progress: 0 };
    if (assignment.coupled && assignment.ranks > 1 && this.rankTransport) {
      entry.rank = new RankLink(assignment, this.rankTransport, (to) => this.#rankHere(assignment.jobId, to));
    }
    this.#running.set(assignment.lease, entry);
    void this.#run(entry);
    this.onChange();
  }

  async #run(entry: Entry): Promise<void> {
    const { assignment, worker } = entry;
    const live = () => this.#running.get(assignment.lease) === entry && !entry.halted;
    const spec = taskSpec(assignment);
    const { resume } = assignment;
    if (entry.rank) spec.coupling = entry.rank.channels;
    try {
      await this.#closing.get(assignment.taskId);
      if (!live()) return;
      const source = resume && (await resumeSource(assignment, this.transport));
      if (!live()) return;
      let chainBytes = 0;
      entry.checkpointing = await startCheckpointing({
        taskId: assignment.taskId,
        memory: assignment.memory,
        pageSize: assignment.pageSize,
        // A rank checkpoints when the coordinator asks, all ranks together.
        intervalMs: entry.rank ? Number.POSITIVE_INFINITY : assignment.checkpointIntervalMs,
        tracking: assignment.program.format === 'wasm' ? 'barrier' : 'diff',
        resume: resume !== undefined,
        ...(resume && { resumeAt: resume.seq }),
        ...(source?.seed && { seed: source.seed }),
        ...(source?.fallback && { fallbackSeed: source.fallback }),
        keepSegments: true,
        onReport: ({ segments, ...report }) => {
          if (!live()) return;
          chainBytes += report.storedBytes;
          entry.newest = { seq: report.seq, bytes: chainBytes, at: Date.now() };
          this.reporter.checkpointed(assignment, report);
          entry.uploader?.offer(report.seq, segments);
          this.onChange();
        },
        onProblem: (problem) => console.warn(`[task ${assignment.taskId}] ${problem}`),
      });
      if (!live()) return entry.checkpointing.terminate();
      spec.checkpoint = entry.checkpointing.link;
      const restored = entry.checkpointing.restored;
      chainBytes = restored?.bytesRead ?? 0;
      const { checkpointing } = entry;
      entry.rank?.attach(() => void checkpointing.checkpointNow());
      entry.uploader = new CheckpointUploader(
        assignment,
        checkpointing.committed,
        this.transport,
        (record) => {
          this.reporter.uploaded(record);
          // The local copy of what the coordinator holds is kept; the chain before it may shrink into a base.
          checkpointing.compact(record.seq).catch((error: unknown) => console.warn(`[task ${assignment.taskId}] local compaction failed:`, error));
        },
        resume?.seq ?? null,
      );
      if (resume && source) {
        if (restored?.seq !== resume.seq) throw new Error(`restored checkpoint ${restored?.seq ?? 'none'} instead of ${resume.seq}`);
        await this.transport.resumed(assignment, resume.seq, source.from);
      }
    } catch (error) {
      // The coordinator already cut the output to the checkpoint's: such a task cannot start over here.
      if (resume) return void (live() && this.#end(entry, { name: 'InvalidCheckpoint', message: `cannot resume from checkpoint ${resume.seq}: ${String(error)}` }));
      console.warn(`[task ${assignment.taskId}] runs without checkpoints:`, error);
    }
    try {
      // The compute worker has no network (global-lockdown.ts): the page fetches the program for it.
      spec.program = await fetchProgramBytes(spec.programUrl);
    } catch (error) {
      if (!live()) return;
      if (!(error instanceof ProgramUnreachable)) return void this.#end(entry, { name: (error as Error).name, message: (error as Error).message });
      // The coordinator did not answer (a restart): give the task back rather than fail it for good.
      console.warn(`[task ${assignment.taskId}] giving the task back:`, error);
      this.reporter.released(assignment);
      return this.stop([assignment.lease]);
    }
    if (!live()) return;
    spec.liveness = createLivenessBuffer();
    entry.watchdog = new TaskWatchdog(spec.liveness, {
      ...(spec.checkpoint && { tracker: spec.checkpoint.buffers.tracker }),
      onUnresponsive: (failure) => live() && this.#end(entry, failure),
    });
    entry.watchdog.start();
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
      suspended: (seq: number, stopMs: number) => {
        entry.checkpointing?.suspended(seq, stopMs);
        if (live()) entry.rank?.suspended(seq);
      },
      messageStats: (delta: MessageCounts) => {
        if (live()) entry.rank?.stats(delta);
      },
      released: (_seq: number, ms: number) => entry.rank?.waits.push(ms),
    });
    worker.addEventListener('error', (event) => {
      if (live()) this.#end(entry, { name: 'WorkerError', message: event.message || 'the compute worker failed to load' });
    });
    await api.run(Comlink.transfer(spec, [spec.program]), callbacks).then(
      (outcome) => live() && this.#end(entry, outcome),
      (error: unknown) => {
        const e = error instanceof Error ? error : new Error(String(error));
        if (live()) this.#end(entry, { name: e.name || 'Error', message: e.message });
      },
    );
  }

  /**
   * Stops tasks without reporting them (their leases are gone, or the job was
   * cancelled). `keepCheckpoints` when the task may come back here.
   */
  stop(leases: Iterable<string>, keepCheckpoints = true): void {
    for (const lease of leases) {
      const entry = this.#running.get(lease);
      if (!entry) continue;
      entry.watchdog?.stop();
      entry.worker.terminate();
      entry.rank?.close();
      if (entry.checkpointing) this.#closeCheckpointing(entry.assignment.taskId, entry.checkpointing, !keepCheckpoints);
      this.#running.delete(lease);
    }
    this.onChange();
  }

  /** Takes a checkpoint of the task now (it is uploaded like the others). */
  checkpointNow(taskId: string): void {
    void this.#entryOf(taskId)?.checkpointing?.checkpointNow();
  }

  /**
   * Halts a task through a checkpoint the coordinator holds, for a migration,
   * a preemption or this page's pause. A task without checkpoints is given
   * back instead (it continues from the coordinator's newest, or starts over).
   */
  async halt(taskId: string): Promise<void> {
    const entry = this.#entryOf(taskId);
    if (!entry || entry.halted) return;
    if (entry.rank) {
      // A rank moves only with its whole job: given back, it rolls the job back to its recovery line.
      this.reporter.released(entry.assignment);
      return this.stop([entry.assignment.lease]);
    }
    const { assignment, checkpointing, uploader } = entry;
    const present = () => this.#running.get(assignment.lease) === entry;
    try {
      if (!checkpointing || !uploader) throw new Error('it runs without checkpoints');
      const { seq } = await withTimeout(checkpointing.checkpointNow(), HALT_CHECKPOINT_MS, 'no checkpoint committed');
      if (!present()) return; // it ended meanwhile
      // Halted: what it computes or prints after checkpoint `seq` does not count (the coordinator cuts the output there).
      // Chromium lets a busy worker run on for up to 2 s after terminate() (Blink's forcible termination delay): `halted` mutes it.
      entry.halted = true;
      entry.worker.terminate();
      await checkpointing.halt();
      await uploader.through(seq);
      await this.transport.halted(assignment, seq);
    } catch (error) {
      console.warn(`[task ${taskId}] halting through a checkpoint failed; giving the task back:`, error);
      if (present()) this.reporter.released(assignment);
    }
    this.stop([assignment.lease]);
  }

  /** Stops every task whose lease is not in `keep`. */
  keepOnly(keep: readonly string[]): void {
    this.stop(this.leases().filter((l) => !keep.includes(l)));
  }

  /** Frames for the rank running under `lease`, from another rank. */
  deliver(lease: string, batch: Uint8Array): void {
    this.#running.get(lease)?.rank?.deliver(batch);
  }

  roundCheckpoint(taskId: string, round: number): void {
    this.#entryOf(taskId)?.rank?.roundCheckpoint(round);
  }

  roundRelease(taskId: string): void {
    this.#entryOf(taskId)?.rank?.release();
  }

  /** Rank `rank` of the job, if this page runs it now. */
  #rankHere(jobId: string, rank: number): RankLink | undefined {
    for (const entry of this.#running.values()) {
      if (entry.assignment.jobId === jobId && entry.assignment.rank === rank && !entry.halted) return entry.rank;
    }
    return undefined;
  }

  /** The coordinator is out of reach: no round can complete, so no rank waits for one. */
  releaseRounds(): void {
    for (const entry of this.#running.values()) entry.rank?.release();
  }

  /** Barrier waits of this page's ranks at coordinated checkpoints, in ms (for benchmarks). */
  roundWaits(): number[] {
    return [...this.#running.values()].flatMap((e) => e.rank?.waits ?? []);
  }

  byTaskId(taskId: string): RunningTask | undefined {
    return this.#entryOf(taskId);
  }

  #entryOf(taskId: string): Entry | undefined {
    return [...this.#running.values()].find((e) => e.assignment.taskId === taskId);
  }

  #closeCheckpointing(taskId: string, checkpointing: TaskCheckpointing, deleteCheckpoints: boolean): void {
    const closed = checkpointing.close(deleteCheckpoints).catch((error: unknown) => console.warn(`[task ${taskId}] closing its checkpoints failed:`, error));
    this.#closing.set(taskId, closed);
    void closed.then(() => {
      if (this.#closing.get(taskId) === closed) this.#closing.delete(taskId);
    });
  }

  #end(entry: Entry, result: TaskOutcome | { name: string; message: string }): void {
    entry.watchdog?.stop();
    entry.worker.terminate();
    entry.rank?.close();
    if (entry.checkpointing) this.#closeCheckpointing(entry.assignment.taskId, entry.checkpointing, true);
    this.#running.delete(entry.assignment.lease);
    if ('exitCode' in result) this.reporter.finished(entry.assignment, result);
    else this.reporter.failed(entry.assignment, result);
    this.onChange();
  }
}
