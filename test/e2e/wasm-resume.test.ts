/**
 * Transparent checkpoints of unmodified WebAssembly programs, end to end
 * (issue 4, "Tests"): each checkpoint fixture is posted to the coordinator,
 * which instruments it, and a volunteer page runs the module it serves
 * through the real runtime (startCheckpointing with the write barrier, the
 * compute and checkpoint worker bundles, IndexedDB). Per fixture, one task:
 * run uninterrupted; given up right after a checkpoint at its first poll;
 * resumed in a fresh worker and given up again right after a checkpoint at a
 * random time (recursion and stdout: again, until a run resumed deep in the
 * recursion, or between two writes); resumed (for some fixtures in a reloaded
 * page) and checkpointed every few ms to its end; resumed from the last
 * checkpoint it took before it exited. Each run must resume from the newest
 * committed checkpoint, go on from its stack and number its checkpoints on;
 * the task's output as the grid assembles it (each run's up to the checkpoint
 * the next one resumed from, then the last run's) and its exit code must be
 * node:wasi's uninterrupted run's, byte for byte.
 *
 * Exact positions (the first poll, the exit-time flush, every Nth poll) are
 * the Node-level test's (test/unit/checkpointable-restore.test.ts); here the
 * positions are wherever a request from another thread finds the program.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { shareMemory } from '../../server/programs/share-memory.ts';
import { MAX_MEMORY_PAGES } from '../../shared/limits.ts';
import { referenceRun } from '../helpers/e2e-output.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import { fixturePath } from '../fixtures/runtime-harness.ts';
import type { Harness, ResumedFrom, RunPlan, RunReport, WasmTask } from './wasm-resume.page.ts';

const FIXTURES = ['loop', 'recursion', 'malloc', 'bulk', 'numeric', 'grow', 'stdout'] as const;
/** These are checkpointed to their end in a reloaded page; the others in the same page. */
const RELOADED = new Set<string>(['recursion', 'grow', 'stdout']);
/**
 * Unwind data of the main loop's stack is some 50 bytes, of a round's first
 * `descend` some 300, of the exit path a few hundred; each level of the
 * recursion adds about 18.
 */
const DEEP_UNWIND_BYTES = 1024;
/**
 * Runs stopped at random times, at most, until one stopped (or, for some
 * fixtures, one resumed from where it is interesting). Each is a few ms of
 * program; 6 once missed the deep recursion on a loaded CI machine, where
 * the program's timing drifts from the uninterrupted run the times come from.
 */
const MAX_RANDOM_STOPS = 12;

let page: Page;
let pageScript: string;
const programIds = new Map<string, string>();

e2eSuite({
  setup: async (s) => {
    const entry = fileURLToPath(new URL('./wasm-resume.page.ts', import.meta.url));
    const bundled = build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', logLevel: 'warning' });
    // The coordinator instruments each program as it is posted (one at a time, about a second each).
    const posted = Promise.all(
      FIXTURES.map(async (name) => programIds.set(name, (await s.grid.api.postProgram(readFileSync(fixturePath(`ckpt/${name}`)), 'wasm', name)).id)),
    );
    pageScript = (await bundled).outputFiles[0]!.text;
    page = (await s.volunteer('wasm-resume')).page;
    await inject();
    await posted;
  },
});

async function inject(): Promise<void> {
  await page.addScriptTag({ content: pageScript });
  assert.equal(await call('isolated'), true, 'the page can share memory with its workers');
}

function call<K extends keyof Harness>(name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>> {
  return page.evaluate(
    ([n, a]) => (globalThis as unknown as { wasmResumeHarness: Record<string, (...x: unknown[]) => unknown> }).wasmResumeHarness[n]!(...a),
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<Harness[K]>>>;
}

const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

/** Where a checkpoint is worth resuming from, for fixtures where a checkpoint at a random time may miss it. */
const INTERESTING: Record<string, { what: string; test: (resumed: ResumedFrom, expected: Expected) => boolean }> = {
  recursion: { what: 'deep in the recursion', test: (r) => r.unwindBytes >= DEEP_UNWIND_BYTES },
  // Its output grows all along: a resume that started over, or lost its offsets, would print some of it twice.
  stdout: { what: 'between two writes', test: (r, e) => r.output.stdout > 0 && r.output.stdout < e.stdout.length },
};

interface Expected {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * One task run after run, as the grid sees it: each run resumes from the
 * newest checkpoint committed so far and continues the output after the
 * bytes that checkpoint had written, so what the run before printed after it
 * is dropped.
 */
class TaskRuns {
  /** The newest committed checkpoint, which the next run must resume from. */
  newest: number | null = null;
  stdout = '';
  stderr = '';
  readonly log: string[] = [];

  constructor(
    private readonly task: WasmTask,
    private readonly expected: Expected,
  ) {}

  async run(what: string, plan: RunPlan): Promise<RunReport> {
    const run = await call('run', this.task, plan);
    const label = `${this.task.programName}, ${what}`;
    this.log.push(`${what}: ${describe(run)}`);
    assert.equal(run.error, undefined, `${label}: ${run.error}`);
    assert.deepEqual(run.problems, [], `${label}: problems`);
    if (plan.resume) {
      assert.equal(run.resumed?.seq ?? null, this.newest, `${label}: resumed from the newest checkpoint`);
      if (run.resumed) {
        assert.deepEqual(run.resumed.programOutput, run.resumed.output, `${label}: the driver and the task count the same output`);
        if (!run.stopped) assert.equal(run.rewound, true, `${label}: the program went on from the checkpoint's stack, not from its start`);
      }
    }
    const parent = run.resumed?.seq ?? 0;
    if (run.begun.length > 0) assert.equal(run.begun[0], parent + 1, `${label}: numbering goes on from the checkpoint`);
    assert.deepEqual(
      run.checkpoints.map((c) => [c.seq, c.parent]),
      run.checkpoints.map((_, i) => [parent + 1 + i, i === 0 ? (run.resumed?.seq ?? null) : parent + i]),
      `${label}: each checkpoint builds on the one before`,
    );

    const from = run.resumed?.output ?? { stdout: 0, stderr: 0 };
    for (const stream of ['stdout', 'stderr'] as const) {
      assert.ok(this[stream].length >= from[stream], `${label}: the page had the ${from[stream]} bytes of ${stream} the checkpoint counts (${this[stream].length})`);
      this[stream] = this[stream].slice(0, from[stream]) + run[stream];
    }
    if (run.stopped) {
      // The program began it at a poll, and the page heard of it before any end of the run (one ordered channel).
      assert.equal(run.begun.length, 1, `${label}: stopped right after its first checkpoint began`);
      assert.ok(run.committed, `${label}: checkpoint ${run.begun[0]} committed after the stop`);
      this.newest = run.begun[0]!;
    } else {
      assert.equal(run.outcome?.exitCode, this.expected.exitCode, `${label}: exit code`);
      assert.deepEqual({ stdout: this.stdout, stderr: this.stderr }, { stdout: this.expected.stdout, stderr: this.expected.stderr }, `${label}: the output over all runs`);
      this.newest = plan.keep ? (run.checkpoints.at(-1)?.seq ?? this.newest) : null;
    }
    return run;
  }
}

function describe(run: RunReport): string {
  const from = run.resumed ? `from ${run.resumed.seq} (stdout ${run.resumed.output.stdout}, unwind ${run.resumed.unwindBytes} B)` : 'from the start';
  const end = run.stopped ? `stopped after ${run.begun.join()}` : `ended (${run.outcome?.exitCode}), checkpoints ${run.checkpoints.map((c) => c.seq).join() || 'none'}`;
  return `${from}, ${end}, ${run.programMs === null ? '?' : run.programMs.toFixed(0)} ms`;
}

for (const [index, name] of FIXTURES.entries()) {
  const where = RELOADED.has(name) ? 'the same page and a reloaded one' : 'the same page';
  test(`${name}: stopped after checkpoints at its start and at random times, it resumes from IndexedDB (in ${where}) and ends as in node:wasi`, async (t) => {
    const original = readFileSync(fixturePath(`ckpt/${name}`));
    const reference = referenceRun(fixturePath(`ckpt/${name}`), name, []);
    assert.equal(reference.trap, undefined);
    const expected: Expected = { stdout: latin1(reference.stdout), stderr: latin1(reference.stderr), exitCode: reference.exitCode };
    const { memory } = shareMemory(original, MAX_MEMORY_PAGES);
    const task: WasmTask = { taskId: `wasm-resume-${name}`, programUrl: `/api/programs/${programIds.get(name)!}/bytes`, programName: name, args: [], memory };
    const random = seededRandom(4000 + index);
    const runs = new TaskRuns(task, expected);
    t.after(() => t.diagnostic(runs.log.join('\n')));

    // Uninterrupted, the module as served prints what node:wasi prints; and this is how long it runs here.
    const whole = await runs.run('uninterrupted', { resume: false });
    let runMs = whole.programMs!;
    assert.ok(runMs > 0, 'the page saw the program start');

    // Checkpoint 1 at the first poll, then the run is given up.
    await runs.run('stopped at the start', { resume: false, atStart: true, stop: true });
    // A fresh worker resumes from it, begins a checkpoint at a random time and is given up again. For
    // recursion and stdout, again, until a run resumed deep in the recursion, or between two writes.
    // A run that ended before the checkpoint it was asked for went past every poll: the task starts over.
    const interesting = INTERESTING[name];
    for (let stops = 1; ; stops++) {
      const at = Math.floor(runMs * (0.02 + 0.28 * random()));
      const run = await runs.run(`stop ${stops}, asked at ${at} ms`, { resume: true, requestAtMs: at, stop: true, keep: true });
      const resumedWell = interesting ? run.resumed !== null && interesting.test(run.resumed, expected) : true;
      if (resumedWell && (run.stopped || interesting)) break;
      assert.ok(stops < MAX_RANDOM_STOPS, `${stops} runs stopped at random times, none ${interesting ? `resumed ${interesting.what}` : 'stopped before its end'}`);
      if (!run.stopped) {
        // It ended before the time asked: on a loaded machine the uninterrupted run can be the slow one, so later times come from this faster run.
        if (run.programMs !== null) runMs = Math.min(runMs, run.programMs);
        await runs.run('stopped at the start again', { resume: false, atStart: true, stop: true });
      }
    }

    if (RELOADED.has(name)) {
      // A fresh page: the same origin and IndexedDB, nothing else of the runs before.
      await page.reload();
      await inject();
    }

    // Resumed, then checkpointed every few ms to its end; its checkpoints are kept.
    await runs.run('checkpointed to the end', { resume: true, intervalMs: 2 + Math.floor(random() * 10), keep: true });
    // Resumed from the last checkpoint taken before the exit; ending deletes the task's checkpoints.
    await runs.run('resumed from the last', { resume: true });
    if (index === 0) {
      const again = await call('run', task, { resume: true });
      assert.equal(again.resumed, null, 'a task that ended has no checkpoints left');
    }
  });
}
