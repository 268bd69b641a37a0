/**
 * Redundancy with real volunteers: two Chromium volunteer tabs run the
 * built-in montecarlo-pi, and a cheating scripted volunteer (the protocol
 * over socket.io, answers made up, at once) takes a replica of every task.
 * With `redundancy: 3` the job's output is what node:wasi prints, the
 * cheater's replicas are outvoted, and the job page marks them so.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { examplePath } from '../fixtures/runtime-harness.ts';
import { assertSameBytes, referenceRun } from '../helpers/e2e-output.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import { pollUntil } from '../helpers/wait-for.ts';

let dashboard: Page;
let cheater: ScriptedVolunteer;
const suite = e2eSuite({
  setup: async (s) => {
    cheater = new ScriptedVolunteer(s.grid.coordinator.url, {
      name: 'cheater',
      slots: 8,
      onTask: (task, self) => {
        self.output(task, 'pi is exactly 3\n');
        self.finish(task, 0).catch(() => {}); // a replica cancelled meanwhile: a stale lease
      },
    });
    await cheater.start(); // before the tabs: it gets a replica of every task first
    await s.volunteer('A');
    await s.volunteer('B');
    dashboard = (await s.dashboard()).page;
  },
});

const TASK_ARGS = [
  ['1', '1000000'],
  ['2', '1000000'],
];

test('two honest tabs outvote a cheater on every task; the output is what node:wasi prints', async () => {
  const { grid } = suite;
  await pollUntil(async () => ((await grid.api.volunteers()).filter((v) => v.connected).length === 3 ? true : undefined), 10_000, 'three volunteers');
  const { id } = await grid.api.postJob({ program: 'montecarlo-pi', tasks: TASK_ARGS.map((args) => ({ args })), redundancy: 3 });
  const job = await grid.api.waitForState(id, 'completed', 30_000);
  cheater.close();

  const output = await grid.api.output(id);
  assert.equal(output.tasks.length, TASK_ARGS.length);
  for (const task of output.tasks) {
    const reference = referenceRun(examplePath('montecarlo-pi'), job.programName, TASK_ARGS[task.index]!);
    assertSameBytes(task.stdout, reference.stdout, `task ${task.index} stdout`);
    assert.equal(task.exitCode, reference.exitCode);
  }
  const cheated = job.tasks.filter((t) => t.volunteer === cheater.volunteerId);
  assert.equal(cheated.length, TASK_ARGS.length, 'the cheater ran a replica of every task');
  assert.ok(cheated.every((t) => t.verdict === 'outvoted'));
  for (let index = 0; index < TASK_ARGS.length; index++) {
    const replicas = job.tasks.filter((t) => t.index === index);
    assert.equal(new Set(replicas.map((t) => t.volunteer)).size, replicas.length, `task ${index}: every replica on another volunteer`);
  }

  await dashboard.evaluate((jobId) => (location.hash = `#/jobs/${jobId}`), id);
  const outvoted = dashboard.locator(`tr[data-testid=task-row] [data-testid=task-verdict][data-verdict=outvoted]`);
  await pollUntil(async () => ((await outvoted.count()) === TASK_ARGS.length ? true : undefined), 5_000, 'the job page to mark the outvoted replicas');
  assert.equal(await dashboard.getByTestId('task-replica').count(), job.tasks.length);
});
