/**
 * Issue 7, volunteer-side faults: the browser takes the volunteer's storage
 * away and the task is not lost. Real faults, not injected errors: Chromium's
 * DevTools protocol lowers the origin's quota (`Storage.overrideQuotaForOrigin`:
 * IndexedDB writes beyond it fail with a real QuotaExceededError) or clears
 * its site data (`Storage.clearDataForOrigin`: the checkpoint database is
 * deleted under the running checkpoint worker, whose connection the browser
 * closes, and localStorage with the volunteer's id goes too). Checkpoints
 * taken after the fault still reach the coordinator, the task continues from
 * them, and its output is byte for byte what node:wasi prints for an
 * uninterrupted run.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import type { CDPSession, Page } from 'playwright-core';
import type { JobView } from '../../shared/http-api.ts';
import { assertChurnOutput, postChurn } from '../helpers/churn-job.ts';
import type { VolunteerPage } from '../helpers/e2e-pages.ts';
import { e2eSuite } from '../helpers/e2e-suite.ts';
import { pollUntil } from '../helpers/wait-for.ts';

let program: string;
const suite = e2eSuite({ setup: async ({ grid }) => void (program = await postChurn(grid.api)) });
afterEach(() => suite.closePages());

/** About 10 s of rewriting a 2 MiB memory in Chromium: a checkpoint of megabytes every interval. */
const ARGS = ['2', '1600'];
const INTERVAL_MS = 300;
/** Below what the page already stores: every write that adds bytes fails. */
const TINY_QUOTA = 1;
/** Room for the task's first two checkpoints (2 MiB each) and little more. */
const ROOM_FOR_TWO = 5 << 20;
const FINISH_MS = 40_000;

/** Two DevTools calls on the volunteer origin (playwright-core's protocol types lag Chromium's). */
async function storageCdp(page: Page): Promise<{ lowerQuota(bytes: number): Promise<void>; clearSiteData(): Promise<void> }> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const origin = new URL(suite.grid.coordinator.url).origin;
  const send = cdp.send.bind(cdp) as (method: string, params: object) => Promise<unknown>;
  return {
    lowerQuota: async (bytes) => void (await send('Storage.overrideQuotaForOrigin', { origin, quotaSize: bytes })),
    clearSiteData: async () => void (await send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' })),
  };
}

/** The newest checkpoint the coordinator holds (its count of stored ones shrinks as it compacts). */
const coordinatorSeq = (job: JobView) => job.tasks[0]!.lastCheckpoint?.seq ?? 0;
const ended = (job: JobView) => job.state !== 'running' && job.state !== 'queued';

/** Posts the churn job and waits until the coordinator holds its checkpoint `checkpoints`. */
async function runUntilCheckpoints(checkpoints: number): Promise<JobView> {
  const { id } = await suite.grid.api.postJob({ program, args: ARGS, checkpointIntervalMs: INTERVAL_MS });
  suite.log.note(`posted job ${id}`);
  const job = await suite.grid.api.waitForJob(id, (j) => coordinatorSeq(j) >= checkpoints || ended(j), FINISH_MS);
  suite.log.note(`job ${id} ${job.state} at progress ${job.tasks[0]!.progress.toFixed(2)}, checkpoint ${coordinatorSeq(job)} on the coordinator`);
  return job;
}

/**
 * Proves a checkpoint taken after the fault reached the coordinator, without
 * racing the uploads against the task's end: pausing `volunteer` halts the
 * task through a fresh checkpoint the coordinator must hold first; resuming
 * it then has to continue from the coordinator's copy (this tab holds no
 * usable one), here or, `elsewhere`, on a new volunteer. Asserts it
 * completes with node:wasi's output.
 */
async function assertContinuesFromCoordinatorCopy(volunteer: VolunteerPage, job: JobView, after: number, elsewhere = false): Promise<JobView> {
  const { grid, log } = suite;
  const pause = volunteer.page.locator('#pause');
  await pause.click();
  const halted = await grid.api.waitForJob(job.id, (j) => j.tasks[0]!.state === 'queued' || ended(j), FINISH_MS);
  assert.equal(halted.tasks[0]!.state, 'queued', `halted through a checkpoint: ${JSON.stringify(halted.tasks[0])}`);
  const seq = coordinatorSeq(halted);
  assert.ok(seq > after, `a checkpoint taken after the fault reached the coordinator (${after} → ${seq})`);
  log.note(`halted through checkpoint ${seq}; resuming ${elsewhere ? 'on a new volunteer' : 'here'}`);
  // Not on a tab whose IndexedDB is full, yet: importing the coordinator's chain there fails with QuotaExceededError.
  const next = elsewhere ? (await suite.volunteer('B')).id : (await pause.click(), volunteer.id);
  const done = await grid.api.waitForJob(job.id, ended, FINISH_MS);
  const task = done.tasks[0]!;
  assert.equal(done.state, 'completed', JSON.stringify(task));
  assert.equal(task.volunteer, next);
  assert.deepEqual(
    task.resumes.map((r) => [r.from, r.seq]),
    [['coordinator', seq]],
    'continued once, from the coordinator copy of the checkpoint it halted at',
  );
  await assertChurnOutput(grid.api, done, 0, ARGS);
  return done;
}

const loggedFallback = () => thisTestsLog().some((line) => /IndexedDB .*coordinator only/.test(line));

/** Where this test's lines begin in the suite's log (the log holds every test's). */
let logStart = 0;
beforeEach(() => void (logStart = suite.log.lines.length));
const thisTestsLog = () => suite.log.lines.slice(logStart);

/** Waits until a page logged a line matching `pattern` in this test; returns the first match. */
function waitForLog(pattern: RegExp): Promise<RegExpExecArray> {
  return pollUntil(async () => thisTestsLog().map((line) => pattern.exec(line)).find((m) => m !== null) ?? undefined, FINISH_MS, `a page to log ${pattern}`);
}

const QUOTA_FAILURE = /checkpoint (\d+) did not commit: QuotaExceededError/;

test('IndexedDB fills up mid-task: checkpoints go on to the coordinator alone, and the task continues from them', async () => {
  const { grid, log } = suite;
  // Chromium applies a lowered quota only to connections opened after it (an open one keeps the room it was
  // allotted), so the quota is set before the page loads, with room for the task's first checkpoints only.
  const a = await suite.volunteer('A', 1, { beforeLoad: async (page) => await (await storageCdp(page)).lowerQuota(ROOM_FOR_TWO) });
  const running = await runUntilCheckpoints(1);
  const full = await waitForLog(QUOTA_FAILURE);
  const at = coordinatorSeq(await grid.api.job(running.id));
  log.note(`IndexedDB was full at checkpoint ${full[1]}; the coordinator holds checkpoint ${at}`);
  assert.ok(Number(full[1]) >= 2, `checkpoint 1 was committed locally before the quota ran out (first failure: ${full[1]})`);
  await assertContinuesFromCoordinatorCopy(a, running, at, true);
  assert.ok(loggedFallback(), 'the page said it fell back to coordinator-only checkpoints');
});

test('a quota already exhausted when the task starts: every checkpoint is kept for the coordinator', async () => {
  const a = await suite.volunteer('A', 1, { beforeLoad: async (page) => await (await storageCdp(page)).lowerQuota(TINY_QUOTA) });
  const running = await runUntilCheckpoints(1);
  await assertContinuesFromCoordinatorCopy(a, running, coordinatorSeq(running), true);
  assert.equal(Number((await waitForLog(QUOTA_FAILURE))[1]), 1, 'the very first checkpoint found IndexedDB full');
  assert.ok(loggedFallback(), 'the page said it fell back to coordinator-only checkpoints');
});

test('site data cleared mid-task: its checkpoints still reach the coordinator, and it continues from them', async () => {
  const { log } = suite;
  const a = await suite.volunteer('A');
  const storage = await storageCdp(a.page);
  const running = await runUntilCheckpoints(1);
  assert.equal(running.state, 'running', 'still running when the data goes');
  await storage.clearSiteData();
  log.note(`cleared the site data with ${coordinatorSeq(running)} checkpoints on the coordinator`);
  const done = await assertContinuesFromCoordinatorCopy(a, running, coordinatorSeq(running));
  assert.equal(done.tasks[0]!.volunteer, a.id);
  assert.ok(loggedFallback(), 'the page said it fell back to coordinator-only checkpoints');
});

test('site data cleared, then the tab reloaded: a new volunteer resumes the task from the coordinator copy', async () => {
  const { grid, log } = suite;
  const a = await suite.volunteer('A');
  const storage = await storageCdp(a.page);
  const running = await runUntilCheckpoints(2);
  assert.equal(running.state, 'running');
  await storage.clearSiteData();
  log.note(`cleared the site data with ${coordinatorSeq(running)} checkpoints on the coordinator; reloading A`);
  await a.page.reload();
  await a.page.locator('#status[data-connected="true"]').waitFor();
  const id = /· id (\S+)$/.exec((await a.page.locator('#counts').textContent()) ?? '')?.[1];
  assert.ok(id && id !== a.id, `the reloaded tab is a new volunteer (${id}, was ${a.id}): its id went with the site data`);

  const done = await grid.api.waitForJob(running.id, ended, FINISH_MS);
  const task = done.tasks[0]!;
  assert.equal(done.state, 'completed', JSON.stringify(task));
  assert.equal(task.volunteer, id, 'finished by the reloaded tab');
  assert.equal(task.resumes[0]?.from, 'coordinator', JSON.stringify(task.resumes));
  assert.ok(task.resumes[0]!.seq >= 2, `resumed from checkpoint ${task.resumes[0]!.seq}, not from the start`);
  await assertChurnOutput(grid.api, done, 0, ARGS);
});

test('a local checkpoint that cannot be read on resume: the reopened tab resumes from the coordinator copy', async () => {
  const { grid, log } = suite;
  const first = await suite.volunteer('A');
  const running = await runUntilCheckpoints(1);
  assert.equal(running.state, 'running');
  // Pausing halts the task through a checkpoint the coordinator holds: the newest here, so the task comes back to this tab.
  await first.page.locator('#pause').click();
  const halted = await grid.api.waitForJob(running.id, (j) => j.tasks[0]!.state === 'queued', FINISH_MS);
  await first.page.close();
  // The manifests stay (the reopened tab reports them, so the task comes back to it to resume locally); their bytes go.
  const other = await first.context.newPage();
  await other.goto(`${grid.coordinator.url}/build/volunteer.js`);
  const dropped = await other.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open('grid-checkpoints');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('segments', 'readwrite');
          const count = tx.objectStore('segments').count();
          tx.objectStore('segments').clear();
          tx.oncomplete = () => (open.result.close(), resolve(count.result));
          tx.onabort = () => reject(tx.error);
        };
      }),
  );
  await other.close();
  log.note(`deleted ${dropped} local segments of A's checkpoints; reopening A`);

  const again = await suite.volunteer('A again', 1, { context: first.context });
  assert.equal(again.id, first.id, 'the reopened tab is the same volunteer');
  const done = await grid.api.waitForJob(running.id, ended, FINISH_MS);
  const task = done.tasks[0]!;
  assert.equal(done.state, 'completed', JSON.stringify(task));
  assert.equal(task.volunteer, again.id);
  assert.equal(task.resumes[0]?.from, 'coordinator', JSON.stringify(task.resumes));
  assert.equal(task.resumes[0]!.seq, halted.tasks[0]!.lastCheckpoint!.seq, 'from the checkpoint it halted at');
  assert.ok(thisTestsLog().some((line) => /reading local checkpoint .* failed/.test(line)), 'it tried its local copy first');
  await assertChurnOutput(grid.api, done, 0, ARGS);
});
