/**
 * The page side of js-resume.test.ts, bundled at test time and injected into
 * a cross-origin-isolated page of the coordinator. It drives a JS task
 * exactly as the volunteer's task host does (startCheckpointing, the real
 * compute-worker.js and checkpoint-worker.js bundles), but lets the test stop
 * the run after some checkpoints and resume it later, from IndexedDB.
 */
import * as Comlink from 'comlink';
import type { OutputStream } from '../../shared/states.ts';
import { TrackerWord } from '../../shared/tracker-layout.ts';
import type { MemoryLimits } from '../../shared/volunteer-protocol.ts';
import type { ComputeWorkerApi, TaskOutcome, TaskSpec } from '../../client/runtime/task-protocol.ts';
import { startCheckpointing } from '../../client/volunteer/task-checkpointing.ts';
import type { CommittedCheckpoint } from '../../client/volunteer/task-checkpointing.ts';

const HARNESS_DB = 'grid-test-harness';

export interface ResumeTask {
  taskId: string;
  programUrl: string;
  args: string[];
  memory: MemoryLimits;
  intervalMs: number;
}

export interface RunReport {
  /** The checkpoint the run resumed from, or null. */
  resumedFrom: number | null;
  checkpoints: Pick<CommittedCheckpoint, 'seq' | 'parent' | 'pages' | 'stopMs'>[];
  stdout: string;
  /** Progress last reported (the run was stopped there, or finished). */
  progress: number;
  outcome?: TaskOutcome;
  problems: string[];
  /** The checkpoint whose worker was terminated while saving it, if the run was asked to. */
  killedSaving?: number;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the task (resuming from this origin's newest checkpoint of it when
 * `resume`) until it ends, or until `stopAfter` checkpoints committed: then
 * its compute worker is terminated, as a closing tab would, and its
 * checkpoints are kept. With `killAfter`, once that many checkpoints
 * committed, the checkpoint worker is terminated in the middle of saving the
 * next one and replaced.
 */
async function run(task: ResumeTask, resume: boolean, stopAfter?: number, killAfter?: number): Promise<RunReport> {
  const report: RunReport = { resumedFrom: null, checkpoints: [], stdout: '', progress: 0, problems: [] };
  const checkpointing = await startCheckpointing({
    taskId: task.taskId,
    memory: task.memory,
    pageSize: 4096,
    intervalMs: task.intervalMs,
    tracking: 'diff',
    resume,
    // A database of its own: the volunteer page this runs in deletes the checkpoints of tasks its coordinator does not know.
    dbName: HARNESS_DB,
    onReport: ({ seq, parent, pages, stopMs }) => report.checkpoints.push({ seq, parent, pages, stopMs }),
    onProblem: (problem) => report.problems.push(problem),
  });
  report.resumedFrom = checkpointing.restored?.seq ?? null;
  const worker = new Worker('/build/compute-worker.js', { type: 'module' });
  const spec: TaskSpec = {
    taskId: task.taskId,
    programUrl: task.programUrl,
    // The compute worker has no network (client/runtime/global-lockdown.ts, its CSP): the page fetches the program.
    program: await (await fetch(task.programUrl)).arrayBuffer(),
    format: 'js',
    programName: 'program',
    args: task.args,
    env: {},
    rank: 0,
    ranks: 1,
    seed: 1,
    pageSize: 4096,
    memory: task.memory,
    checkpoint: checkpointing.link,
  };
  const decoder = new TextDecoder();
  const callbacks = Comlink.proxy({
    output: (stream: OutputStream, data: Uint8Array) => {
      if (stream === 'stdout') report.stdout += decoder.decode(data, { stream: true });
    },
    progress: (fraction: number) => (report.progress = fraction),
    suspended: (seq: number, stopMs: number) => checkpointing.suspended(seq, stopMs),
  });
  let ended = false;
  const finished = Comlink.wrap<ComputeWorkerApi>(worker)
    .run(spec, callbacks)
    .then((outcome) => (report.outcome = outcome))
    .finally(() => (ended = true));
  if (killAfter !== undefined) {
    const words = new Int32Array(checkpointing.link.buffers.tracker);
    while (!ended && (report.checkpoints.length < killAfter || Atomics.load(words, TrackerWord.PROTECTED) === 0)) await delay(1);
    if (ended) throw new Error(`the task ended before a checkpoint after the ${killAfter}th could be interrupted`);
    report.killedSaving = Atomics.load(words, TrackerWord.PROTECTED);
    await checkpointing.replaceWorker('the test terminated it mid-save');
  }
  if (stopAfter === undefined) {
    await finished;
    await checkpointing.close(true);
  } else {
    while (!ended && report.checkpoints.length < stopAfter) await delay(5);
    if (ended) throw new Error(`the task ended before ${stopAfter} checkpoints (got ${report.checkpoints.length}); give it more work`);
    worker.terminate();
    await checkpointing.close(false);
  }
  worker.terminate();
  return report;
}

const harness = { isolated: () => globalThis.crossOriginIsolated, run };
export type Harness = typeof harness;
(globalThis as unknown as { resumeHarness: Harness }).resumeHarness = harness;
