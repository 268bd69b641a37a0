/**
 * A job posted from the dashboard UI runs on two volunteer tabs, and each
 * task's stdout is exactly what the same program prints in Node's own node:wasi.
 * The job page charts a task's checkpoints (uPlot) and lists where it resumed.
 * A coupled job's page says it waits for slots, then shows its recovery line,
 * rollbacks and message counters once its ranks run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { ProgramInfo } from '../../shared/http-api.ts';
import type { VolunteerPage } from '../helpers/e2e-pages.ts';
import { assertSameBytes, referenceRun } from '../helpers/e2e-output.ts';
import { pollUntil } from '../helpers/wait-for.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { examplePath } from '../fixtures/runtime-harness.ts';

/** Two volunteer tabs and one dashboard, opened once: both tests use them, as one user would. */
let volunteers: [VolunteerPage, VolunteerPage];
let dashboard: Page;
const suite = e2eSuite({
  setup: async (s) => {
    volunteers = [await s.volunteer('A'), await s.volunteer('B')];
    dashboard = (await s.dashboard()).page;
  },
});

/** Four small tasks, each well under a second in Chromium. */
const TASK_ARGS = [
  ['1', '2000000'],
  ['2', '2000000'],
  ['3', '2000000'],
  ['4', '2000000'],
];
const JOB_NAME = 'pi from the dashboard';
const JOB_MS = 30_000;

test('a job posted from the dashboard runs on two volunteers and prints what node:wasi prints', async (t) => {
  const { grid, log } = suite;
  const [a, b] = volunteers;
  assert.equal(await a.page.evaluate(() => crossOriginIsolated), true, 'the volunteer page is cross-origin isolated');
  await pollUntil(
    async () => {
      const connected = (await grid.api.volunteers()).filter((v) => v.connected && v.slots === 1);
      return connected.length === 2 ? true : undefined;
    },
    5_000,
    'both volunteers to offer one slot each',
  );

  const page = dashboard;
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the dashboard is cross-origin isolated');

  // Pick the built-in by the name shown in the list, as a user would.
  const option = page.locator('#job-program option', { hasText: 'montecarlo-pi' });
  await option.waitFor({ state: 'attached' });
  const programId = await option.getAttribute('value');
  const listed = (await grid.api.ok<{ id: string; name: string; builtin: boolean }[]>('GET', '/api/programs')).find(
    (p) => p.name === 'montecarlo-pi' && p.builtin,
  );
  assert.ok(programId && listed, 'montecarlo-pi is offered');
  assert.equal(programId, listed.id, 'the option is the built-in montecarlo-pi');
  await page.selectOption('#job-program', programId);
  await page.fill('#job-name', JOB_NAME);
  await page.check('#job-mode-tasks');
  await page.fill('#job-tasks', TASK_ARGS.map((args) => args.join(' ')).join('\n'));
  await page.click('#job-submit');

  const success = page.getByTestId('job-form-success');
  await success.waitFor();
  const href = (await success.locator('a').getAttribute('href')) ?? '';
  const jobId = decodeURIComponent(/^#\/jobs\/(.+)$/.exec(href)?.[1] ?? '');
  assert.ok(jobId, `the success notice links to the job (${href})`);
  log.note(`posted job ${jobId}`);
  const started = Date.now();

  const row = page.locator(`tr[data-testid=job-row][data-job-id="${jobId}"]`);
  await page.locator(`tr[data-testid=job-row][data-job-id="${jobId}"][data-state=completed]`).waitFor({ timeout: JOB_MS });
  t.diagnostic(`the dashboard showed the job completed ${Date.now() - started} ms after posting`);
  assert.equal((await row.getByTestId('job-tasks').textContent())?.trim(), `${TASK_ARGS.length}/${TASK_ARGS.length}`);

  const job = await grid.api.job(jobId);
  assert.equal(job.state, 'completed');
  assert.equal(job.name, JOB_NAME);
  assert.deepEqual(
    job.tasks.map((task) => task.args),
    TASK_ARGS,
    'one task per line of the form, in order',
  );
  const output = await grid.api.output(jobId);
  assert.equal(output.tasks.length, TASK_ARGS.length);
  for (const task of output.tasks) {
    const args = TASK_ARGS[task.index]!;
    const reference = referenceRun(examplePath('montecarlo-pi'), job.programName, args);
    assert.equal(task.exitCode, reference.exitCode, `task ${task.index} exit code`);
    assertSameBytes(task.stdout, reference.stdout, `task ${task.index} (${args.join(' ')}) stdout`);
    assertSameBytes(task.stderr, reference.stderr, `task ${task.index} stderr`);
  }

  // Each page counts the tasks it finished: together all of them, each at least one.
  const finished = await pollUntil(
    async () => {
      const counts = [await a.finished(), await b.finished()];
      return counts[0]! + counts[1]! === TASK_ARGS.length ? counts : undefined;
    },
    5_000,
    'the volunteer pages to count every task',
  );
  t.diagnostic(`volunteer A finished ${finished[0]} tasks, B ${finished[1]}`);
  assert.ok(finished.every((n) => n >= 1), `both volunteers ran tasks (A ${finished[0]}, B ${finished[1]})`);

  // The job's page shows the output a user came for.
  await row.locator('a').click();
  const jobPage = page.locator(`[data-testid=job-page][data-job-id="${jobId}"]`);
  await jobPage.waitFor();
  const block = jobPage.locator('[data-testid=task-output][data-task-index="0"]');
  const stdout = block.getByTestId('task-stdout');
  await stdout.waitFor();
  assert.equal(await stdout.isVisible(), true, 'task 0 output is unfolded');
  assert.equal(await stdout.textContent(), referenceRun(examplePath('montecarlo-pi'), job.programName, TASK_ARGS[0]!).stdout.toString('utf8'));
  const rows = jobPage.locator('tr[data-testid=task-row][data-state=completed]');
  assert.equal(await rows.count(), TASK_ARGS.length, 'every task row shows completed');
});

/** pi-js at ~40 M samples a second would run for a minute: it is cancelled once its resume shows. */
const PI_ARGS = ['7', '2000000000'];
const INTERVAL_MS = 250;

test('the job page charts a task\'s checkpoints and lists the resume a Migrate click caused', async (t) => {
  const { grid } = suite;
  const programs = await grid.api.ok<ProgramInfo[]>('GET', '/api/programs');
  const program = programs.find((p) => p.name === 'pi-js' && p.builtin);
  assert.ok(program, 'the built-in pi-js is registered');
  const { id } = await grid.api.postJob({ program: program.id, name: 'pi-js charted', args: PI_ARGS, checkpointIntervalMs: INTERVAL_MS });

  const page = dashboard;
  await page.evaluate((jobId) => (location.hash = `#/jobs/${jobId}`), id);
  const jobPage = page.locator(`[data-testid=job-page][data-job-id="${id}"]`);

  // While it runs: a uPlot canvas inside the chart, one point per checkpoint the volunteer reported.
  const chart = jobPage.getByTestId('task-checkpoint-chart');
  await chart.locator('canvas').waitFor({ timeout: 15_000 });
  await jobPage.locator('[data-testid=task-checkpoint-chart]:not([data-points="0"]):not([data-points="1"])').waitFor({ timeout: 15_000 });
  const history = jobPage.getByTestId('task-resume-history');
  assert.equal(await history.getAttribute('data-count'), '0', 'not resumed yet');

  // The tab running it lists the checkpoint it keeps in its IndexedDB.
  const running = (await grid.api.job(id)).tasks[0]!;
  const host = volunteers.find((v) => v.id === running.volunteer);
  assert.ok(host, `task 0 runs on one of the two tabs (${running.volunteer})`);
  await host.page.locator(`#local-checkpoints tr[data-task-id="${running.id}"][data-seq]`).waitFor({ timeout: 5_000 });

  // Migrate as a user would: the task resumes on the other tab from the coordinator's copy.
  await jobPage.getByTestId('task-migrate').click();
  await jobPage.locator('[data-testid=task-resume-history][data-count="1"]').waitFor({ timeout: 15_000 });
  const task = (await grid.api.job(id)).tasks[0]!;
  assert.equal(task.resumes.length, 1, JSON.stringify(task.resumes));
  const resume = task.resumes[0]!;
  const entry = history.getByTestId('task-resume');
  assert.equal(await entry.getAttribute('data-from'), resume.from);
  assert.equal(Number(await entry.getAttribute('data-seq')), resume.seq);
  assert.match((await entry.textContent()) ?? '', new RegExp(`from checkpoint #${resume.seq}, the coordinator's copy`));
  // The coordinator holds at least the checkpoint the task resumed from.
  const uploaded = jobPage.getByTestId('task-uploaded');
  assert.ok(Number(await uploaded.getAttribute('data-seq')) >= resume.seq);
  assert.match((await uploaded.textContent()) ?? '', /Uploaded up to #\d+/);

  const points = Number(await chart.getAttribute('data-points'));
  assert.ok(points >= 2, `the chart plots the checkpoints (${points})`);
  const canvas = await chart.locator('canvas').boundingBox();
  assert.ok(canvas && canvas.width > 100 && canvas.height > 50, `the chart is drawn at a visible size (${JSON.stringify(canvas)})`);
  t.diagnostic(`${points} checkpoints charted; resumed from #${resume.seq} (${resume.from})`);

  // No need to wait a minute for pi: Cancel ends it, and the page says so.
  await page.getByTestId('job-action-cancel').click();
  await jobPage.locator('[data-testid=job-state][data-state=cancelled]').waitFor({ timeout: 5_000 });
});

/** The built-in jacobi at these sizes runs far longer than the test: it is cancelled once its panel has numbers. */
const JACOBI_ARGS = ['64', '100000', '1000'];
const RANKS = 3;

test('a coupled job\'s page says it waits for slots, then shows its recovery line and messages', async (t) => {
  const { grid } = suite;
  // Tabs A and B offer one slot each: two, not the three the ranks must start on together.
  const { id } = await grid.api.postJob({ program: 'jacobi', name: 'jacobi coupled', args: JACOBI_ARGS, ranks: RANKS, checkpointIntervalMs: 1000 });

  const page = dashboard;
  await page.evaluate((jobId) => (location.hash = `#/jobs/${jobId}`), id);
  const jobPage = page.locator(`[data-testid=job-page][data-job-id="${id}"]`);
  const panel = jobPage.getByTestId('coupled-panel');
  await panel.waitFor();
  assert.match((await panel.locator('h2').textContent()) ?? '', /Coupled: 3 ranks/);
  const waiting = jobPage.getByTestId('gang-waiting');
  await waiting.waitFor({ timeout: 5_000 });
  const notice = (await waiting.textContent()) ?? '';
  assert.match(notice, /^Waiting for 3 free slots to start all ranks together \(\d free now\)$/);
  assert.equal((await jobPage.getByTestId('recovery-line').textContent())?.trim(), 'none yet');
  assert.equal((await jobPage.getByTestId('task-index-heading').textContent())?.trim(), 'Rank');

  // A third tab brings the third slot: the ranks start together, and the notice goes.
  await suite.volunteer('C');
  await waiting.waitFor({ state: 'detached', timeout: 10_000 });
  const line = jobPage.locator('[data-testid=recovery-line][data-round]');
  await line.waitFor({ timeout: 30_000 });
  assert.match((await line.textContent()) ?? '', /^round \d+$/);
  await pollUntil(async () => (Number(await jobPage.getByTestId('messages-sent').textContent()) > 0 ? true : undefined), 5_000, 'the page to count sent messages');
  const shown = {
    rollbacks: (await jobPage.getByTestId('rollbacks').textContent())?.trim(),
    sent: Number(await jobPage.getByTestId('messages-sent').textContent()),
    resent: Number(await jobPage.getByTestId('messages-resent').textContent()),
    discarded: Number(await jobPage.getByTestId('messages-discarded').textContent()),
  };
  t.diagnostic(`${notice}; then ${(await line.textContent()) ?? ''}, ${JSON.stringify(shown)}`);
  assert.equal(shown.rollbacks, '0', 'no rank was lost');
  assert.ok(shown.sent > 0 && shown.resent >= 0 && shown.discarded >= 0, JSON.stringify(shown));

  await grid.api.ok('POST', `/api/jobs/${id}/cancel`, undefined, 202);
  await jobPage.locator('[data-testid=job-state][data-state=cancelled]').waitFor({ timeout: 5_000 });
});
