/**
 * The page side of wasm-resume.test.ts, bundled at test time and injected
 * into a cross-origin-isolated page of the coordinator. It drives an
 * instrumented wasm task as the volunteer's task host does
 * (startCheckpointing with the barrier, the real compute-worker.js and
 * checkpoint-worker.js bundles, the module as the coordinator serves it),
 * but chooses when checkpoints are asked for, gives up on the run right
 * after it began a chosen checkpoint, and resumes the task later from
 * IndexedDB.
 *
 * Giving up is what the task host does to a task it stops: terminate the
 * compute worker and ignore it from then on. Chromium lets a worker that is
 * busy in a script run on for up to 2 s after `terminate()` (Blink's
 * kForcibleTerminationDelay, https://source.chromium.org/search?q=kForcibleTerminationDelay),
 * so the program may well run to its end on its own memory; what the page
 * keeps of the run is what it received up to the stop, and the checkpoint
 * worker, kept until the checkpoint the run began has committed.
 */
import * as Comlink from 'comlink';
import type { CheckpointableState } from '../../shared/checkpointable-abi.ts';
import type { OutputStream } from '../../shared/states.ts';
import type { OutputOffsets } from '../../shared/task-state.ts';
import { PageState, TRACKER_HEADER_WORDS } from '../../shared/tracker-layout.ts';
import type { MemoryLimits } from '../../shared/volunteer-protocol.ts';
import { requestCheckpoint } from '../../client/checkpoint/tracker-words.ts';
import type { ComputeWorkerApi, TaskOutcome, TaskSpec } from '../../client/runtime/task-protocol.ts';
import { startCheckpointing } from '../../client/volunteer/task-checkpointing.ts';
import type { CommittedCheckpoint } from '../../client/volunteer/task-checkpointing.ts';

const HARNESS_DB = 'grid-test-harness';
/** How long the page watches the memory without yielding for the program to start (ms). */
const START_SPIN_MS = 250;

/** An interval the checkpoint worker never reaches: only the page asks for checkpoints. */
const NO_INTERVAL_MS = 1e9;
const PAGE_SIZE = 4096;
/** How long a stopped run waits for its checkpoint worker to commit the checkpoint the run began. */
const COMMIT_WAIT_MS = 5_000;

export interface WasmTask {
  taskId: string;
  programUrl: string;
  /** argv[0]. */
  programName: string;
  args: string[];
  memory: MemoryLimits;
}

export interface RunPlan {
  /** Continue from this origin's newest checkpoint of the task, if it holds one. */
  resume: boolean;
  /** Ask for a checkpoint before the program starts, so that its first poll takes one. */
  atStart?: boolean;
  /** Ask for a checkpoint this many ms after the program started (see `programStarted`). */
  requestAtMs?: number;
  /** The checkpoint worker asks for one this often as well. @default never */
  intervalMs?: number;
  /**
   * Stop the run as soon as it began its first checkpoint. The plan must ask
   * for no other: a request still pending would let the abandoned program
   * begin another one.
   */
  stop?: boolean;
  /** Keep the task's checkpoints when it ends (the task host deletes them: the task is over). */
  keep?: boolean;
}

/** What a resumed run started from: the checkpoint and what its state says. */
export interface ResumedFrom {
  seq: number;
  /** Bytes of stdout and stderr the program had written at the checkpoint (the task's state). */
  output: OutputOffsets;
  /** The driver's own count of the same bytes (it must agree). */
  programOutput: OutputOffsets;
  /** Bytes of Asyncify's unwind data: how deep the stack was where it stopped. */
  unwindBytes: number;
}

export interface RunReport {
  resumed: ResumedFrom | null;
  /** Checkpoints begun by this run, in order. */
  begun: number[];
  /** Checkpoints of this run that committed and were reported. */
  checkpoints: Pick<CommittedCheckpoint, 'seq' | 'parent' | 'pages'>[];
  /** What the page received until the run ended or was stopped, each byte as one char (latin1). */
  stdout: string;
  stderr: string;
  /** Set when the run ended by itself. */
  outcome?: TaskOutcome;
  error?: string;
  /** The run was stopped right after it began its checkpoint. */
  stopped: boolean;
  /** A resumed run that ended: its stack was rewound into the checkpoint's, rather than started over (the worker's count, checked against the unwind data cleared when the page saw it). */
  rewound?: boolean;
  /** A stopped run: the checkpoint it began committed (and was reported). */
  committed?: boolean;
  /** From the program's start (see `programStarted`) to its end or its stop (ms); null if the page did not see it start. */
  programMs: number | null;
  problems: string[];
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A turn of the event loop, without the ≥ 4 ms clamp of nested timers. */
const nextTask = () =>
  new Promise<void>((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
const latin1 = (bytes: Uint8Array) => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return text;
};

/** A wasm task's checkpoint state (task-state.ts, wasm-runner.ts). */
const taskState = (state: unknown) => state as { output: OutputOffsets; program: CheckpointableState };

function resumedFrom(seq: number, state: unknown): ResumedFrom {
  const { output, program } = taskState(state);
  return { seq, output, programOutput: program.output, unwindBytes: program.unwind.end - program.unwind.address };
}

/**
 * True once the program runs: a fresh start marks its data segments in the
 * tracker (which starts with every page word at 0) right before it calls
 * `_start`; a resumed run clears the unwind data it rewound from once its
 * stack is back (unwind-region.ts), which in a fresh worker can be tens of
 * ms after its instance was made, as every function on the way is compiled
 * at its first call.
 */
function programStarted(words: Int32Array, memory: WebAssembly.Memory, resumedAt: number | undefined): boolean {
  if (resumedAt !== undefined) return Atomics.load(new Int32Array(memory.buffer, resumedAt, 1), 0) === 0;
  // The data segments lie in the initial memory: only its pages need a look.
  const end = TRACKER_HEADER_WORDS + memory.buffer.byteLength / PAGE_SIZE;
  for (let i = TRACKER_HEADER_WORDS; i < end; i++) if (words[i] !== PageState.NEVER_WRITTEN) return true;
  return false;
}

/** Runs the task once, in a fresh compute worker, as `plan` says. */
async function run(task: WasmTask, plan: RunPlan): Promise<RunReport> {
  if (plan.stop && (plan.intervalMs !== undefined || (plan.atStart && plan.requestAtMs !== undefined))) {
    throw new Error('a run to stop asks for one checkpoint only');
  }
  const report: RunReport = { resumed: null, begun: [], checkpoints: [], stdout: '', stderr: '', stopped: false, programMs: null, problems: [] };
  const checkpointing = await startCheckpointing({
    taskId: task.taskId,
    memory: task.memory,
    pageSize: PAGE_SIZE,
    intervalMs: plan.intervalMs ?? NO_INTERVAL_MS,
    tracking: 'barrier',
    resume: plan.resume,
    // A database of its own: the volunteer page this runs in deletes the checkpoints of tasks its coordinator does not know.
    dbName: HARNESS_DB,
    onReport: ({ seq, parent, pages }) => report.checkpoints.push({ seq, parent, pages }),
    onProblem: (problem) => report.problems.push(problem),
  });
  const { link, restored } = checkpointing;
  const words = new Int32Array(link.buffers.tracker);
  if (restored) report.resumed = resumedFrom(restored.seq, restored.state);
  if (plan.atStart) requestCheckpoint(link.buffers.tracker);

  const worker = new Worker('/build/compute-worker.js', { type: 'module' });
  let startedAt: number | undefined;
  let over = false;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = () => {
      report.stopped = true;
      over = true;
      if (startedAt !== undefined) report.programMs = performance.now() - startedAt;
      worker.terminate();
      resolve();
    };
  });
  const spec: TaskSpec = {
    taskId: task.taskId,
    programUrl: task.programUrl,
    // The compute worker has no network (client/runtime/global-lockdown.ts, its CSP): the page fetches the program.
    program: await (await fetch(task.programUrl)).arrayBuffer(),
    format: 'wasm',
    programName: task.programName,
    args: task.args,
    env: {},
    rank: 0,
    ranks: 1,
    seed: 1,
    pageSize: PAGE_SIZE,
    memory: task.memory,
    checkpoint: link,
  };
  // From the stop on, the run is ignored, as the task host ignores a task it stopped.
  const live = () => !report.stopped;
  const callbacks = Comlink.proxy({
    output: (stream: OutputStream, data: Uint8Array) => {
      if (live()) report[stream] += latin1(data);
    },
    progress: () => undefined,
    suspended: (seq: number, stopMs: number) => {
      if (!live()) return;
      checkpointing.suspended(seq, stopMs);
      report.begun.push(seq);
      if (plan.stop) stop();
    },
  });
  const finished = Comlink.wrap<ComputeWorkerApi>(worker)
    .run(spec, callbacks)
    .then(
      (outcome) => void (live() && (report.outcome = outcome)),
      (error: Error) => void (live() && (report.error = `${error.name}: ${error.message}`)),
    )
    .finally(() => {
      if (live() && startedAt !== undefined) report.programMs = performance.now() - startedAt;
      over = true;
    });

  const unwindAt = restored ? taskState(restored.state).program.unwind.address : undefined;
  // Spin first: a resumed run of a short program can rewind, finish and grow its memory over the
  // cleared unwind region within one turn of this page's event loop, where nothing would see it.
  const spinUntil = performance.now() + START_SPIN_MS;
  while (startedAt === undefined && performance.now() < spinUntil) if (programStarted(words, link.memory, unwindAt)) startedAt = performance.now();
  while (!over && startedAt === undefined) {
    if (programStarted(words, link.memory, unwindAt)) startedAt = performance.now();
    else await nextTask();
  }
  if (plan.requestAtMs !== undefined) {
    while (!over && performance.now() - startedAt! < plan.requestAtMs) await nextTask();
    if (!over) requestCheckpoint(link.buffers.tracker);
  }
  await Promise.race([finished, stopped]);
  if (report.stopped) {
    // The checkpoint worker saves on what the run began, from the memory and the copy-on-write pool.
    const seq = report.begun.at(-1)!;
    const deadline = performance.now() + COMMIT_WAIT_MS;
    const reported = () => report.checkpoints.some((c) => c.seq === seq);
    while (!reported() && report.problems.length === 0 && performance.now() < deadline) await delay(1);
    report.committed = reported();
  }
  if (unwindAt !== undefined && !report.stopped) {
    // The worker counts the rewind. The page looks for it in memory as well, but can miss it: on a loaded
    // machine a short program can rewind, finish and grow its memory over the cleared region between two looks.
    report.rewound = report.outcome?.rewound === true;
    const seen = startedAt !== undefined || programStarted(words, link.memory, unwindAt);
    if (seen && !report.rewound) report.problems.push('the page saw the stack rewound, but the worker did not count the rewind');
  }
  worker.terminate();
  await checkpointing.close(report.outcome !== undefined && !plan.keep);
  return report;
}

const harness = { isolated: () => globalThis.crossOriginIsolated, run };
export type Harness = typeof harness;
(globalThis as unknown as { wasmResumeHarness: Harness }).wasmResumeHarness = harness;
