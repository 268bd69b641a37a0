/**
 * Issue 4's end-to-end test, through the public API only: a posted C
 * program (the mandelbrot example's bytes, instrumented by the coordinator
 * when posted) takes
 * two checkpoints on one volunteer tab, `POST /api/jobs/:id/tasks/0/migrate`
 * moves it (checkpoint, halt, upload, resume on the other tab from the
 * coordinator's copy), and its output is byte for byte what node:wasi
 * prints for an uninterrupted run: nothing printed twice, nothing missing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, test } from 'node:test';
import type { ProgramInfo } from '../../shared/http-api.ts';
import { assertSameBytes, referenceRun } from '../helpers/e2e-output.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { examplePath } from '../fixtures/runtime-harness.ts';

const suite = e2eSuite();
afterEach(() => suite.closePages());

/** Several seconds in Chromium here, printing a line per row throughout. */
const ARGS = ['640', '480', '2000'];

test('a task migrated after two checkpoints resumes on another volunteer and prints exactly what an uninterrupted run prints', async (t) => {
  const { grid, log } = suite;
  const { id: program } = await grid.api.postProgram(readFileSync(examplePath('mandelbrot')), 'wasm', 'mandelbrot-posted');
  const a = await suite.volunteer('A');
  const b = await suite.volunteer('B');
  const { id } = await grid.api.postJob({ program, name: 'mandelbrot', args: ARGS, checkpointIntervalMs: 200 });

  const before = await grid.api.waitForJob(id, (j) => j.tasks[0]!.localCheckpoints.length >= 2, 60_000);
  assert.equal(before.state, 'running', 'still running after two checkpoints: the migration happens mid-run');
  const from = before.tasks[0]!.volunteer!;
  log.note(`migrating task 0 from ${from} after checkpoint ${before.tasks[0]!.localCheckpoints.at(-1)!.seq}`);
  await grid.api.ok('POST', `/api/jobs/${id}/tasks/0/migrate`, undefined, 202);

  const done = await grid.api.waitForJob(id, (j) => j.state === 'completed' || j.state === 'failed', 90_000);
  const output = (await grid.api.output(id)).tasks[0]!;
  assert.equal(done.state, 'completed', JSON.stringify(output));
  const task = done.tasks[0]!;
  assert.notEqual(task.volunteer, from, 'it finished on the other volunteer');
  assert.ok([a.id, b.id].includes(task.volunteer!));
  assert.equal(task.restarts, 0, 'it never started over');
  assert.equal(task.resumes.length, 1, JSON.stringify(task.resumes));
  assert.equal(task.resumes[0]!.from, 'coordinator');
  assert.ok(task.resumes[0]!.seq >= 2, `resumed from checkpoint ${task.resumes[0]!.seq}, taken after the first two`);
  // Uploads go on after the move: the coordinator's newest is the one it resumed from or a later one.
  assert.ok(task.checkpoints >= 1 && task.lastCheckpoint!.seq >= task.resumes[0]!.seq, 'the coordinator holds the checkpoint it resumed from or a newer one');

  const stops = done.tasks[0]!.localCheckpoints.map((c) => c.stopMs.toFixed(2));
  t.diagnostic(`stops of the instrumented program at its checkpoints (ms): ${stops.join(' ')}`);
  const reference = referenceRun(examplePath('mandelbrot'), 'mandelbrot', ARGS);
  assert.equal(output.exitCode, reference.exitCode);
  assertSameBytes(output.stdout, reference.stdout, 'mandelbrot stdout');
  assertSameBytes(output.stderr, reference.stderr, 'mandelbrot stderr');
});

test('migrating a task that is not running is a 409, and an unknown task a 404', async () => {
  const { grid } = suite; // no volunteer: the task stays queued
  const programs = await grid.api.ok<ProgramInfo[]>('GET', '/api/programs');
  const { id } = await grid.api.postJob({ program: programs.find((p) => p.name === 'mandelbrot')!.id, args: ['8', '8', '10'] });
  const queued = await grid.api.call('POST', `/api/jobs/${id}/tasks/0/migrate`);
  assert.equal(queued.status, 409, JSON.stringify(queued.body));
  assert.equal((await grid.api.call('POST', `/api/jobs/${id}/tasks/7/migrate`)).status, 404);
  assert.equal((await grid.api.call('POST', `/api/jobs/${id}/tasks/x/migrate`)).status, 404);
  await grid.api.ok('POST', `/api/jobs/${id}/cancel`, undefined, 202);
});
