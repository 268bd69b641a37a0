/**
 * A volunteer tab that goes away mid-task loses nothing: the coordinator
 * notices, puts the task back in the queue, the other tab runs it, and the
 * output is still exactly node:wasi's. Three ways to go away, from the
 * politest to the hardest to notice: the tab is closed (`pagehide` says
 * goodbye), its renderer crashes (no goodbye, but the socket drops), and it
 * hangs (no goodbye and the socket stays open: only silence tells).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, test } from 'node:test';
import type { TestContext } from 'node:test';
import type { JobView } from '../../shared/http-api.ts';
import { LEASE_MS, PING_INTERVAL_MS, PING_TIMEOUT_MS } from '../../shared/limits.ts';
import { assertSameBytes, referenceRun } from '../helpers/e2e-output.ts';
import type { VolunteerPage } from '../helpers/e2e-pages.ts';
import { pollUntil } from '../helpers/wait-for.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { fixturePath } from '../fixtures/runtime-harness.ts';

let programId: string;

const suite = e2eSuite({
  setup: async ({ grid }) => {
    programId = (await grid.api.postProgram(readFileSync(fixturePath('slow')), 'wasm', 'slow')).id;
  },
});

/** About 2 ms per iteration in Chromium: a 6 s task, still running when its tab goes. */
const ITERATIONS = '3000';
/** Let the task get going (some progress reported) before its tab goes. */
const PROGRESS_BEFORE_KILL = 0.05;
/** The whole rerun on the surviving tab, with room for a busy 2-core machine. */
const RERUN_MS = 45_000;

afterEach(() => suite.closePages());

/** node:wasi runs the slow fixture as slowly as Chromium does (~6 s): once per file. */
let referenceOutput: ReturnType<typeof referenceRun> | undefined;
const reference = () => (referenceOutput ??= referenceRun(fixturePath('slow'), 'slow', [ITERATIONS]));

type Kill = (victim: VolunteerPage) => Promise<void>;

/**
 * Starts the slow task with two tabs open, makes the tab running it go away
 * with `kill`, and checks the task is requeued, rerun on the other tab, and
 * completes with node:wasi's output. Returns how long the coordinator took to
 * notice, in ms.
 */
async function loseTheRunningTab(t: TestContext, kill: Kill): Promise<number> {
  const { grid, log } = suite;
  const a = await suite.volunteer('A');
  const b = await suite.volunteer('B');
  const { id } = await grid.api.postJob({ program: programId, name: 'slow', args: [ITERATIONS] });
  log.note(`posted job ${id}`);
  const running = await grid.api.waitForJob(
    id,
    (job) => job.tasks[0]!.state === 'running' && job.tasks[0]!.progress >= PROGRESS_BEFORE_KILL,
    15_000,
  );
  const holder = running.tasks[0]!.volunteer;
  const victim = [a, b].find((v) => v.id === holder);
  const survivor = [a, b].find((v) => v !== victim)!;
  assert.ok(victim, `the task runs on one of the two tabs (it runs on ${holder})`);
  assert.equal(running.tasks[0]!.restarts, 0);
  assert.equal(await victim.page.locator(`#tasks li[data-task-id="${running.tasks[0]!.id}"]`).count(), 1, 'the tab shows the task');

  log.note(`killing volunteer ${victim.name} at progress ${running.tasks[0]!.progress}`);
  const killedAt = Date.now();
  await kill(victim);
  const requeued = await pollUntil(
    async () => {
      const job = await grid.api.job(id);
      return job.tasks[0]!.restarts >= 1 ? { job, at: Date.now() } : undefined;
    },
    RERUN_MS,
    'the task to be requeued',
    20,
  );
  const detectionMs = requeued.at - killedAt;
  t.diagnostic(`the coordinator requeued the task ${detectionMs} ms after volunteer ${victim.name} went away`);
  log.note(`requeued after ${detectionMs} ms: ${JSON.stringify(requeued.job.tasks[0])}`);
  assert.equal(requeued.job.tasks[0]!.restarts, 1, 'lost once, restarted once');
  assert.notEqual(requeued.job.tasks[0]!.volunteer, victim.id, 'not left with the tab that went away');

  // Picked up by the other tab: watch where it runs until the job ends.
  const ranOn = new Set<string>(requeued.job.tasks[0]!.volunteer ? [requeued.job.tasks[0]!.volunteer] : []);
  const done = await grid.api.waitForJob(
    id,
    (job: JobView) => {
      if (job.tasks[0]!.volunteer) ranOn.add(job.tasks[0]!.volunteer);
      return job.state !== 'running' && job.state !== 'queued';
    },
    RERUN_MS,
  );
  log.note(`job ${id} ended ${done.state}`);
  assert.equal(done.state, 'completed');
  assert.equal(done.tasks[0]!.restarts, 1);
  assert.deepEqual([...ranOn], [survivor.id], `rerun on volunteer ${survivor.name} only`);
  assert.equal(await survivor.finished(), 1, `volunteer ${survivor.name} counts the task it finished`);

  const output = await grid.api.output(id);
  const expected = reference();
  assert.equal(output.tasks[0]!.exitCode, expected.exitCode);
  assertSameBytes(output.tasks[0]!.stdout, expected.stdout, 'stdout after the rerun');
  assertSameBytes(output.tasks[0]!.stderr, expected.stderr, 'stderr after the rerun');
  return detectionMs;
}

test('closing the tab mid-task requeues the task and the other tab completes it', async (t) => {
  // page.close() runs the page's unload steps: `pagehide` tells the coordinator first.
  const detectionMs = await loseTheRunningTab(t, (victim) => victim.page.close());
  assert.ok(detectionMs < LEASE_MS, `noticed at once (${detectionMs} ms), not at lease expiry`);
});

test('a crashed tab (no pagehide) loses its task to the other tab', async (t) => {
  const detectionMs = await loseTheRunningTab(t, async (victim) => {
    const cdp = await victim.context.newCDPSession(victim.page);
    const crashed = victim.page.waitForEvent('crash');
    // Page.crash never answers: the renderer it would answer from is gone.
    void cdp.send('Page.crash').catch(() => {});
    await crashed;
  });
  assert.ok(detectionMs < LEASE_MS, `the dropped socket is noticed at once (${detectionMs} ms)`);
});

test('a hung tab (socket open, page silent) loses its task to the other tab', async (t) => {
  const detectionMs = await loseTheRunningTab(t, async (victim) => {
    // Stops the page's main thread at its next line of JS (its 1 s redraw at the latest):
    // no heartbeats, no socket.io pongs, no goodbye; its compute worker keeps running.
    const cdp = await victim.context.newCDPSession(victim.page);
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
  });
  const bound = PING_INTERVAL_MS + PING_TIMEOUT_MS + LEASE_MS;
  assert.ok(detectionMs < bound, `noticed by the ping timeout or the lease (${detectionMs} ms < ${bound} ms)`);
});
