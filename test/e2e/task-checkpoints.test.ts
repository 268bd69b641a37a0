/**
 * Every running task checkpoints every `checkpointIntervalMs` into its
 * volunteer's IndexedDB while it computes (issue 3, "Wire it into tasks"),
 * the coordinator lists each committed checkpoint on the job, and the
 * output is still exactly the reference's: checkpoints never change what a
 * program computes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, test } from 'node:test';
import type { JobView, ProgramInfo, TaskView } from '../../shared/http-api.ts';
import { assertSameBytes, referenceRun } from '../helpers/e2e-output.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { examplePath, fixturePath } from '../fixtures/runtime-harness.ts';

const suite = e2eSuite();
afterEach(() => suite.closePages());

const INTERVAL_MS = 250;
/** pi-js does ~40 M samples a second in Chromium here: ~3 s, about a dozen checkpoints. */
const PI_ARGS = ['7', '120000000'];

async function builtin(name: string): Promise<string> {
  const programs = await suite.grid.api.ok<ProgramInfo[]>('GET', '/api/programs');
  const program = programs.find((p) => p.name === name);
  assert.ok(program, `the built-in ${name} is registered`);
  return program.id;
}

/** Checks the checkpoints a task reported: numbered 1, 2, … with no gap, each holding something, stops short. */
function assertCheckpoints(task: TaskView, atLeast: number, pageSize: number): void {
  const seqs = task.localCheckpoints.map((c) => c.seq);
  assert.ok(seqs.length >= atLeast, `at least ${atLeast} checkpoints, got ${JSON.stringify(seqs)}`);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'numbered from 1 without gaps');
  for (const c of task.localCheckpoints) {
    assert.ok(c.bytes >= pageSize * Math.min(c.pages, 1), `checkpoint ${c.seq} stored its pages (${c.pages} pages, ${c.bytes} bytes)`);
    assert.ok(c.stopMs < 1_000, `checkpoint ${c.seq} stopped the program ${c.stopMs} ms`);
    assert.ok(c.saveMs > 0);
  }
  // The first checkpoint holds everything written since the start; later ones only what changed.
  assert.ok(task.localCheckpoints[0]!.pages >= 1);
}

/** Runs the job on one volunteer; its view and its only task's stdout. */
async function runToEnd(body: Parameters<typeof suite.grid.api.postJob>[0]): Promise<{ job: JobView; stdout: string }> {
  await suite.volunteer('checkpointing');
  const { id } = await suite.grid.api.postJob(body);
  const job = await suite.grid.api.waitForJob(id, (j) => j.state === 'completed' || j.state === 'failed', 60_000);
  assert.equal(job.state, 'completed', JSON.stringify((await suite.grid.api.output(id)).tasks[0]));
  return { job, stdout: (await suite.grid.api.output(id)).tasks[0]!.stdout };
}

test('a JS task checkpoints every interval while it runs and still prints what the C program prints', async () => {
  const { job, stdout } = await runToEnd({ program: await builtin('pi-js'), name: 'pi-js', args: PI_ARGS, checkpointIntervalMs: INTERVAL_MS });
  const task = job.tasks[0]!;
  // The independent reference: the C build of the same estimate, in node:wasi.
  const reference = referenceRun(examplePath('montecarlo-pi'), 'montecarlo-pi', PI_ARGS);
  assertSameBytes(stdout, reference.stdout, 'pi-js stdout');
  assertCheckpoints(task, 3, job.pageSize);
  // pi-js keeps its whole state in its first page: after the first checkpoint, each one is that page.
  for (const c of task.localCheckpoints.slice(1)) assert.equal(c.pages, 1, `checkpoint ${c.seq} holds the one page pi-js writes`);

  // The job page shows them.
  const { page } = await suite.dashboard();
  await page.evaluate((id) => (location.hash = `#/jobs/${id}`), job.id);
  const shown = page.locator(`[data-testid=job-page][data-job-id="${job.id}"] [data-testid=task-local-checkpoints]`);
  await shown.waitFor();
  assert.equal(Number(await shown.getAttribute('data-count')), task.localCheckpoints.length);
  assert.match((await shown.textContent()) ?? '', new RegExp(`#${task.localCheckpoints.at(-1)!.seq} · 1 page · .* · stop [0-9.]+ ms`));
});

test('a wasm task checkpoints wherever its polls catch a request and its output is still node:wasi\'s', async () => {
  const { id: program } = await suite.grid.api.postProgram(readFileSync(fixturePath('slow')), 'wasm', 'slow');
  const args = ['1500'];
  const { job, stdout } = await runToEnd({ program, name: 'slow', args, checkpointIntervalMs: INTERVAL_MS });
  const task = job.tasks[0]!;
  assertSameBytes(stdout, referenceRun(fixturePath('slow'), 'slow', args).stdout, 'slow stdout');
  assertCheckpoints(task, 3, job.pageSize);
});
