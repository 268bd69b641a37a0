/**
 * What a volunteer tab makes of programs that fail, exit with a code, print a
 * lot, or are written in JS: each ends the way the program says, with the
 * output node:wasi gives, and the tab is free for the next task.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { JobView } from '../../shared/http-api.ts';
import { MAX_OUTPUT_CHUNK_BYTES } from '../../shared/limits.ts';
import { assertSameBytes, referenceRun } from '../helpers/e2e-output.ts';
import type { VolunteerPage } from '../helpers/e2e-pages.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { examplePath, fixturePath } from '../fixtures/runtime-harness.ts';

/** Each of these jobs takes well under a second; a hang shows up as this timeout. */
const JOB_MS = 15_000;
const FIXTURES = ['exit-code', 'big-output'] as const;

const programs = new Map<string, string>();
let volunteer: VolunteerPage;

const suite = e2eSuite({
  setup: async (s) => {
    for (const name of FIXTURES) {
      programs.set(name, (await s.grid.api.postProgram(readFileSync(fixturePath(name)), 'wasm', name)).id);
    }
    volunteer = await s.volunteer('solo');
  },
});

/** Posts a one-task job of `program` (an uploaded fixture's or a built-in's name) and waits until it ends, whichever way. */
async function runToEnd(program: string, args: string[] = []): Promise<JobView> {
  const { id } = await suite.grid.api.postJob({ program: programs.get(program) ?? program, args });
  suite.log.note(`posted job ${id}: ${program} ${args.join(' ')}`);
  return suite.grid.api.waitForJob(id, (job) => job.state === 'completed' || job.state === 'failed', JOB_MS);
}

test('a program importing what the grid lacks is refused when posted, naming the import', async () => {
  assert.equal(await volunteer.page.evaluate(() => crossOriginIsolated), true, 'the volunteer page is cross-origin isolated');
  const before = (await suite.grid.api.ok<unknown[]>('GET', '/api/programs')).length;
  const posted = await suite.grid.api.call<{ error: { name: string; message: string } }>('POST', '/api/programs?name=unknown-import', readFileSync(fixturePath('unknown-import')), {
    'Content-Type': 'application/wasm',
  });
  assert.equal(posted.status, 400);
  assert.equal(posted.body.error.name, 'InvalidProgram');
  assert.match(posted.body.error.message, /env\.mystery/);
  assert.equal((await suite.grid.api.ok<unknown[]>('GET', '/api/programs')).length, before, 'nothing was stored');
});

test('an exit code ends the task with that code and fails the job', async () => {
  const job = await runToEnd('exit-code');
  const reference = referenceRun(fixturePath('exit-code'), job.programName, []);
  assert.equal(reference.exitCode, 3);
  assert.equal(job.state, 'failed');
  assert.equal(job.tasks[0]!.exitCode, 3);
  const [task] = (await suite.grid.api.output(job.id)).tasks;
  assert.equal(task!.exitCode, 3);
  assertSameBytes(task!.stdout, reference.stdout, 'stdout up to the exit');
  assert.equal(task!.error, undefined, 'an exit code is not an error');
});

test('300 KiB of stdout arrive whole, in order, over many chunks', async () => {
  const job = await runToEnd('big-output');
  const reference = referenceRun(fixturePath('big-output'), job.programName, []);
  assert.ok(reference.stdout.length > 4 * MAX_OUTPUT_CHUNK_BYTES, `the reference is big (${reference.stdout.length} bytes)`);
  assert.equal(job.state, 'completed');
  const [task] = (await suite.grid.api.output(job.id)).tasks;
  assert.equal(task!.exitCode, reference.exitCode);
  assertSameBytes(task!.stdout, reference.stdout, 'stdout');
  assertSameBytes(task!.stderr, reference.stderr, 'stderr');
});

test('the JS example pi-js gives the result and the line montecarlo-pi gives', async () => {
  const args = ['7', '1000000'];
  const job = await runToEnd('pi-js', args);
  assert.equal(job.state, 'completed');
  const [task] = (await suite.grid.api.output(job.id)).tasks;
  assert.equal(task!.exitCode, 0);
  const wasm = referenceRun(examplePath('montecarlo-pi'), 'montecarlo-pi', args);
  assertSameBytes(task!.stdout, wasm.stdout, 'pi-js stdout against montecarlo-pi in node:wasi');
  const inside = Number(/ inside=(\d+) /.exec(wasm.stdout.toString('utf8'))?.[1]);
  assert.deepEqual(task!.result, { seed: 7, samples: 1_000_000, inside });
});
