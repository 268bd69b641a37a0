/**
 * A job posted from the dashboard UI runs on two volunteer tabs, and each
 * task's stdout is exactly what the same program prints in Node's own node:wasi.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertSameBytes, referenceRun } from '../helpers/e2e-output.ts';
import { pollUntil } from '../helpers/wait-for.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { examplePath } from '../fixtures/runtime-harness.ts';

const suite = e2eSuite();

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
  const a = await suite.volunteer('A');
  const b = await suite.volunteer('B');
  assert.equal(await a.page.evaluate(() => crossOriginIsolated), true, 'the volunteer page is cross-origin isolated');
  await pollUntil(
    async () => {
      const connected = (await grid.api.volunteers()).filter((v) => v.connected && v.slots === 1);
      return connected.length === 2 ? true : undefined;
    },
    5_000,
    'both volunteers to offer one slot each',
  );

  const { page } = await suite.dashboard();
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
