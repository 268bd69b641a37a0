/**
 * Job code in a volunteer's tab cannot get out (issue 7, Sandbox): hostile
 * JS programs (test/fixtures/hostile-*) posted to a real grid and run by a
 * Chromium volunteer try the network, the volunteer's storage, other
 * contexts and ways to restore what was removed. A local HTTP listener
 * counts every connection they could open (none may arrive), and the
 * volunteer's IndexedDB and Cache Storage must hold nothing of theirs. A step
 * that never returns is stopped by the page's watchdog within
 * STEP_WATCHDOG_MS and a few seconds, fails its task as Unresponsive, and the
 * same tab then runs the next job; meanwhile an honest instrumented wasm
 * program (test/fixtures/slow, with no checkpoint interval) that computes
 * past the period without a sign of life of its own is probed, answers at
 * its next poll, and runs to its end.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { COMPUTE_WORKER_CSP } from '../../server/http/worker-csp.ts';
import { STEP_WATCHDOG_MS } from '../../shared/limits.ts';
import type { VolunteerPage } from '../helpers/e2e-pages.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { fixturePath } from '../fixtures/runtime-harness.ts';

/** The hostile programs that should end normally, having printed only "blocked: …" lines. */
const ESCAPES = ['hostile-fetch', 'hostile-websocket', 'hostile-xhr', 'hostile-indexeddb', 'hostile-caches', 'hostile-import', 'hostile-restore'] as const;
/** A hostile job that is not stopped by its own failure takes well under a second. */
const JOB_MS = 15_000;
/** How much later than the watchdog period the looping task may fail: one check interval plus the coordinator round trip. */
const WATCHDOG_SLACK_MS = 5_000;
/** Rounds of test/fixtures/slow: about 15 s in Chromium, instrumented, never calling the runtime but for progress. */
const SLOW_ITERATIONS = '7000';

/** Every TCP connection and HTTP request a program could make to the outside world lands here. */
const listener = { connections: 0, requests: [] as string[], url: '' };
const server = createServer((request, response) => {
  listener.requests.push(`${request.method} ${request.url}`);
  response.end('loot');
});
server.on('connection', () => listener.connections++);
server.on('upgrade', (request, socket) => {
  listener.requests.push(`UPGRADE ${request.url}`);
  socket.destroy();
});

const programs = new Map<string, string>();
let volunteer: VolunteerPage;

const suite = e2eSuite({
  setup: async (s) => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    listener.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    for (const name of [...ESCAPES, 'hostile-loop']) {
      programs.set(name, (await s.grid.api.postProgram(readFileSync(fixturePath(name, 'program.js')), 'js', name)).id);
    }
    programs.set('slow', (await s.grid.api.postProgram(readFileSync(fixturePath('slow')), 'wasm', 'slow')).id);
    volunteer = await s.volunteer('target', 2);
  },
});
test.after(() => server.close());

async function runHostile(name: string) {
  const { id } = await suite.grid.api.postJob({ program: programs.get(name)!, args: [listener.url] });
  suite.log.note(`posted ${name} as job ${id}`);
  const job = await suite.grid.api.waitForJob(id, (j) => j.state === 'completed' || j.state === 'failed', JOB_MS);
  const [task] = (await suite.grid.api.output(id)).tasks;
  suite.log.note(`${name} ended ${job.state}${task!.error ? ` (${task!.error})` : ''}; its stdout:\n${task!.stdout}`);
  return { job, stdout: task!.stdout, error: task!.error };
}

test('the compute worker script is served with the restrictive CSP', async () => {
  const response = await fetch(`${suite.grid.coordinator.url}/build/compute-worker.js`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-security-policy'), COMPUTE_WORKER_CSP);
  assert.match(COMPUTE_WORKER_CSP, /connect-src 'none'/);
  const page = await fetch(`${suite.grid.coordinator.url}/volunteer`);
  assert.equal(page.headers.get('content-security-policy'), null, 'only the worker script gets it');
});

test('hostile programs reach neither the network nor the volunteer’s storage', async () => {
  const runs = await Promise.all(ESCAPES.map(async (name) => ({ name, ...(await runHostile(name)) })));
  for (const { name, job, stdout, error } of runs) {
    assert.equal(job.state, 'completed', `${name} ran to its end (${error ?? ''})\n${stdout}`);
    assert.doesNotMatch(stdout, /ESCAPED/, `${name} got through:\n${stdout}`);
    assert.match(stdout, /^blocked: /m, `${name} tried something:\n${stdout}`);
  }
  const restore = runs.find((r) => r.name === 'hostile-restore')!.stdout;
  assert.ok(restore.split('\n').filter((l) => l.startsWith('blocked: ')).length >= 50, 'every way back was tried and refused');
  assert.match(runs.find((r) => r.name === 'hostile-import')!.stdout, /blocked: import\(\) from elsewhere \(TypeError/, 'dynamic import is refused (CSP)');
  // Give a stray connection time to land before counting.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(listener.connections, 0, `connections reached the listener: ${listener.requests.join(', ')}`);
  const storage = await volunteer.page.evaluate(async () => ({
    databases: (await indexedDB.databases()).map((d) => d.name),
    caches: await caches.keys(),
  }));
  assert.ok(!storage.databases.includes('hostile-db'), `IndexedDB databases: ${storage.databases.join(', ')}`);
  assert.deepEqual(storage.caches, [], 'Cache Storage is empty');
});

test('the watchdog stops a step that never returns, spares wasm that computes past its period, and the tab runs the next job', async () => {
  const finishedBefore = await volunteer.finished();
  // No checkpoint requests for a day: only the watchdog's probes get the slow program to a safepoint.
  const honest = await suite.grid.api.postJob({ program: programs.get('slow')!, args: [SLOW_ITERATIONS], checkpointIntervalMs: 86_400_000 });
  const posted = Date.now();
  const { job, error } = await runHostile('hostile-loop');
  const tookMs = Date.now() - posted;
  assert.equal(job.state, 'failed');
  assert.match(error ?? '', /Unresponsive/);
  assert.match(error ?? '', new RegExp(`did not return within ${STEP_WATCHDOG_MS / 1000} s; the task was stopped`));
  assert.ok(tookMs >= STEP_WATCHDOG_MS, `it failed after ${tookMs} ms, not before the watchdog period`);
  assert.ok(tookMs <= STEP_WATCHDOG_MS + WATCHDOG_SLACK_MS, `it failed after ${tookMs} ms`);
  suite.log.note(`the looping task failed after ${tookMs} ms`);

  const slow = await suite.grid.api.waitForJob(honest.id, (j) => j.state === 'completed' || j.state === 'failed', 60_000);
  const slowMs = Date.now() - posted;
  const [slowTask] = (await suite.grid.api.output(honest.id)).tasks;
  assert.equal(slow.state, 'completed', `the honest program must not be stopped (${slowTask!.error ?? ''})`);
  assert.match(slowTask!.stdout, new RegExp(`^slow iterations=${SLOW_ITERATIONS} checksum=`));
  assert.ok(slowMs > STEP_WATCHDOG_MS + 2_000, `it ran ${slowMs} ms: longer than the watchdog period, or this proves nothing`);
  suite.log.note(`the honest wasm program ran ${slowMs} ms`);

  const next = await suite.grid.api.postJob({ program: 'pi-js', args: ['7', '100000'] });
  const done = await suite.grid.api.waitForJob(next.id, (j) => j.state === 'completed' || j.state === 'failed', JOB_MS);
  assert.equal(done.state, 'completed');
  assert.equal(done.tasks[0]!.volunteer, volunteer.id, 'the same tab ran it');
  assert.equal(await volunteer.finished(), finishedBefore + 2, 'the slow program and pi-js');
});
