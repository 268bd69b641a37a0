/**
 * Issue 6: a coupled job whose ranks message each other (the built-in jacobi
 * example: halo rows every iteration, a barrier at every print) across three
 * real Chromium volunteers, with its output compared byte for byte with the
 * sequential reference run in node:wasi: without failures, with a volunteer
 * tab closed after the first recovery line, with two tabs closed at
 * different times, and with a rank lost while a coordinated checkpoint's
 * barrier is open. The job's counters must show that rollback, resending and
 * duplicate discarding really happened.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { JobView } from '../../shared/http-api.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { assertSameBytes } from '../helpers/e2e-output.ts';
import { runJacobiReference } from '../helpers/jacobi-reference.ts';

const suite = e2eSuite();
afterEach(() => suite.closePages());

const RANKS = 4;
/** About 15 s of solving across three tabs under the test harness: still running when a tab goes. */
const ARGS = ['256', '500', '100'];
/** Longer, for two losses one after the other. */
const LONG_ARGS = ['256', '700', '100'];
const FINISH_MS = 180_000;

async function assertMatchesReference(job: JobView, args: string[]): Promise<void> {
  const reference = await runJacobiReference(args);
  const output = await suite.grid.api.output(job.id);
  const rank0 = output.tasks.find((t) => t.index === 0)!;
  assert.equal(rank0.exitCode, 0, JSON.stringify(output.tasks.map((t) => ({ ...t, stdout: t.stdout.slice(-200) }))));
  assertSameBytes(rank0.stdout, Buffer.from(reference.stdout), 'rank 0 stdout');
  for (const task of output.tasks) assert.equal(task.exitCode, 0, `rank ${task.index}: ${task.stderr}`);
}

const finished = (j: JobView) => j.state === 'completed' || j.state === 'failed' || j.state === 'cancelled';

/** Posts the job on three tabs (A runs two ranks); resolves once it has a recovery line. */
async function startOnThreeTabs(args: string[]) {
  const [a, b, c] = await Promise.all([suite.volunteer('A', 2), suite.volunteer('B', 1), suite.volunteer('C', 1)]);
  const { id } = await suite.grid.api.postJob({ program: 'jacobi', args, ranks: RANKS, checkpointIntervalMs: 1000 });
  const lined = await suite.grid.api.waitForJob(id, (j) => (j.recoveryLine ?? 0) >= 1 || finished(j), 60_000);
  assert.equal(lined.state, 'running', 'still running at its first recovery line');
  return { id, a: a!, b: b!, c: c! };
}

/**
 * The job completed, rolled back `rollbacks` times or more, and (`replayed`)
 * its ranks resent and discarded messages on the way: a survivor's checkpoint
 * holds the messages not yet acknowledged when it stopped, and after the
 * rollback they go again to receivers whose checkpoints already have them.
 */
async function assertRecovered(id: string, args: string[], rollbacks: number, replayed = true): Promise<void> {
  const done = await suite.grid.api.waitForJob(id, finished, FINISH_MS);
  suite.log.note(`rollbacks ${done.rollbacks}; recovery line ${done.recoveryLine}; messages ${JSON.stringify(done.messages)}; resumes ${JSON.stringify(done.tasks.map((t) => t.resumes))}`);
  const why = async () => JSON.stringify((await suite.grid.api.output(id)).tasks.map((t) => ({ index: t.index, state: t.state, error: t.error, stderr: t.stderr })));
  assert.equal(done.state, 'completed', done.state === 'completed' ? '' : await why());
  assert.ok(done.rollbacks >= rollbacks, `rolled back ${done.rollbacks} times`);
  if (replayed) {
    assert.ok(done.messages.resent > 0, 'unacknowledged messages were resent');
    assert.ok(done.messages.discarded > 0, 'duplicates were recognised and discarded');
  }
  await assertMatchesReference(done, args);
}

test('a 4-rank job across 3 volunteer tabs prints what the sequential reference prints', async () => {
  const { grid, log } = suite;
  await Promise.all([suite.volunteer('A', 2), suite.volunteer('B', 1), suite.volunteer('C', 1)]);
  const started = Date.now();
  const { id } = await grid.api.postJob({ program: 'jacobi', args: ARGS, ranks: RANKS, checkpointIntervalMs: 1000 });
  const done = await grid.api.waitForJob(id, finished, FINISH_MS);
  log.note(`finished in ${Date.now() - started} ms; recovery line ${done.recoveryLine}; messages ${JSON.stringify(done.messages)}`);
  assert.equal(done.state, 'completed', JSON.stringify(done.tasks.map((t) => t.state)));
  assert.equal(done.rollbacks, 0);
  assert.ok((done.recoveryLine ?? 0) >= 1, 'coordinated checkpoints made a recovery line');
  assert.ok(done.messages.sent > 0);
  await assertMatchesReference(done, ARGS);
});

test('a volunteer tab closed after the first recovery line: every rank rolls back to it and the output is unchanged', async () => {
  const { id, b } = await startOnThreeTabs(ARGS);
  await suite.volunteer('D', 1);
  suite.log.note('closing B');
  await b.page.close();
  await assertRecovered(id, ARGS, 1);
  const job = await suite.grid.api.job(id);
  const resumes = job.tasks.flatMap((t) => t.resumes);
  assert.ok(resumes.some((r) => r.from === 'local'), `survivors resumed from their own IndexedDB: ${JSON.stringify(resumes)}`);
  assert.ok(resumes.some((r) => r.from === 'coordinator'), `the lost rank resumed from the coordinator: ${JSON.stringify(resumes)}`);
});

test('two volunteer tabs closed at different times: two rollbacks, the same output', async () => {
  const { grid, log } = suite;
  const { id, b, c } = await startOnThreeTabs(LONG_ARGS);
  await suite.volunteer('D', 1);
  log.note('closing B');
  await b.page.close();
  const first = await grid.api.waitForJob(id, (j) => j.rollbacks >= 1, 15_000);
  // The second loss comes after the job has moved its recovery line past the first.
  await grid.api.waitForJob(id, (j) => (j.recoveryLine ?? 0) > (first.recoveryLine ?? 0) || finished(j), 60_000);
  await suite.volunteer('E', 1);
  log.note('closing C');
  await c.page.close();
  await assertRecovered(id, LONG_ARGS, 2);
});

/** Drops this page's `round:enter` reports from the `after`-th on, so a round it was asked for never fills. */
async function withholdRoundEntries(page: Page, after: number): Promise<{ dropped: number }> {
  const seen = { entries: 0, dropped: 0 };
  await page.routeWebSocket(/socket\.io/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      if (typeof message === 'string' && message.includes('"round:enter"') && ++seen.entries >= after) {
        seen.dropped++;
        return;
      }
      server.send(message);
    });
    server.onMessage((message) => ws.send(message));
  });
  return seen;
}

test('a rank lost while a coordinated checkpoint\'s barrier is open: the round is aborted, the job recovers, nothing hangs', async () => {
  const { grid, log } = suite;
  let withheld = { dropped: 0 };
  const [, b] = await Promise.all([
    suite.volunteer('A', 2),
    suite.volunteer('B', 1, { beforeLoad: async (page) => void (withheld = await withholdRoundEntries(page, 2)) }),
    suite.volunteer('C', 1),
    suite.volunteer('D', 1),
  ]);
  const { id } = await grid.api.postJob({ program: 'jacobi', args: ARGS, ranks: RANKS, checkpointIntervalMs: 1000 });
  await grid.api.waitForJob(id, (j) => (j.recoveryLine ?? 0) >= 1, 60_000);
  const deadline = Date.now() + 30_000;
  while (withheld.dropped === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(withheld.dropped > 0, 'B was asked into a round');
  // The other ranks have entered and wait at the barrier for B, which never comes.
  await new Promise((r) => setTimeout(r, 500));
  log.note('closing B inside an open round');
  await b!.page.close();
  // Whether any message was unacknowledged at the line's checkpoints is chance here; the tests above count those.
  await assertRecovered(id, ARGS, 1, false);
});
