/**
 * Issue 7, crash safety: the coordinator is killed with SIGKILL (`kill -9`)
 * at least ten times at seeded random moments while an independent job with
 * checkpoints (the churn fixture: megabyte checkpoints every second) and a
 * coupled job (jacobi, 2 ranks, a coordinated checkpoint every second) run
 * on three real Chromium volunteer tabs. Some kills are aimed: right after a
 * tab committed a checkpoint the coordinator does not hold yet (its upload is
 * under way), or right after a rank did (a coordinated round is open). Each
 * time a new coordinator process starts on the same port and data folder,
 * and the tabs reconnect by themselves. Should both jobs end before ten kills
 * landed (a fast machine), another pair is posted, so every kill hits running
 * work.
 *
 * After every restart nothing acknowledged is lost (coordinator-child-watch.ts);
 * at the end every job completed with outputs equal, byte for byte, to node:wasi
 * runs of the same programs, `PRAGMA integrity_check` is ok, and every blob
 * the database names exists and hashes to its name.
 *
 * CRASH_SEED picks another schedule; CRASH_KILLS another number of kills.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Browser } from 'playwright-core';
import { PageLog, launchBrowser } from '../helpers/browser.ts';
import { startCoordinatorChild } from '../helpers/coordinator-child.ts';
import { checkDataFolder } from '../helpers/coordinator-child-disk.ts';
import { KnownJobs, jobFinished } from '../helpers/coordinator-child-jobs.ts';
import type { PostedJob } from '../helpers/coordinator-child-jobs.ts';
import { JobWatch, awaitMoment, lostSince } from '../helpers/coordinator-child-watch.ts';
import type { KillMoment } from '../helpers/coordinator-child-watch.ts';
import { openVolunteer } from '../helpers/e2e-pages.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const SEED = Number(process.env.CRASH_SEED ?? 20261129);
const KILLS = Number(process.env.CRASH_KILLS ?? 10);
const TOKEN = 'crash-token';
/** Long enough for several checkpoints each, short enough that a pair fits between a few kills on a fast machine. */
const SIZES = { churnTasks: [['4', '1500'], ['4', '1200']], jacobiArgs: ['256', '400', '100'], jacobiRanks: 2 };
/** The gap before each kill is drawn from [GAP_MIN_MS, GAP_MAX_MS). */
const GAP_MIN_MS = 1_000;
const GAP_MAX_MS = 4_000;
/** How long an aimed kill waits for its moment before it lands anywhere. */
const AIM_TIMEOUT_MS = 2_500;
const FINISH_MS = 150_000;
const AIMS: KillMoment[] = ['mid-upload', 'mid-round', 'anytime'];

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;

test(`the coordinator killed with SIGKILL ${KILLS} times at random moments: every job completes with the reference output, nothing acknowledged is lost, the store is intact`, async () => {
  const started = Date.now();
  const jobs = new KnownJobs(SIZES);
  const dataDir = mkdtempSync(join(tmpdir(), 'grid-crash-'));
  const log = new PageLog();
  let grid = await startCoordinatorChild({ dataDir, token: TOKEN });
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    // A's two slots take the gang (both ranks on one tab); B and C the independent tasks.
    const tabs = [['A', 2], ['B', 1], ['C', 1]] as const;
    await Promise.all(tabs.map(([name, workers]) => openVolunteer(browser!, grid.url, log, { name, workers })));
    await jobs.prepare(grid.api, grid.url);
    const posted: PostedJob[] = [];
    const postPair = async () => {
      const pair = await jobs.postPair(grid.api);
      posted.push(...pair);
      // Every task has started (downloaded its program) before the next kill.
      for (const job of pair) await grid.api.waitForJob(job.id, (j) => jobFinished(j) || j.tasks.every((t) => t.progress > 0), 60_000);
      log.note(`posted ${pair.map((j) => `${j.kind} ${j.id}`).join(', ')} at ${seconds(started)}`);
    };
    await postPair();

    const random = seededRandom(SEED);
    const watch = new JobWatch(grid.api, () => posted.map((job) => job.id));
    const kills: string[] = [];
    for (let n = 1; n <= KILLS; n++) {
      await new Promise((resolve) => setTimeout(resolve, GAP_MIN_MS + random() * (GAP_MAX_MS - GAP_MIN_MS)));
      if ((await watch.read()).latest.every(jobFinished)) await postPair();
      const aim = AIMS[Math.floor(random() * AIMS.length)]!;
      const { moment, detail, observed } = await awaitMoment(watch, aim, AIM_TIMEOUT_MS);
      const at = seconds(started);
      const exit = await grid.kill();
      assert.equal(exit.signal, 'SIGKILL', `kill ${n}: the coordinator had already exited (${JSON.stringify(exit)})`);
      const restartAt = Date.now();
      grid = await startCoordinatorChild({ dataDir, token: TOKEN, port: grid.port });
      watch.reconnect(grid.api, observed.acknowledged);
      const after = (await watch.read()).latest;
      const running = observed.latest.filter((view) => !jobFinished(view)).map((view) => view.programName);
      const line = `kill ${n} at ${at}: ${moment}${detail ? ` (${detail})` : ''}; running: ${running.join(', ') || 'nothing'}; back in ${seconds(restartAt)}`;
      kills.push(line);
      log.note(line);
      assert.ok(running.length > 0, `kill ${n} landed while no job ran`);
      assert.deepEqual(lostSince(observed.acknowledged, after), [], `after kill ${n}, acknowledged work was lost`);
    }

    console.log(`${kills.length} kills, seed ${SEED}:\n  ${kills.join('\n  ')}`);
    for (const job of posted) {
      const view = await jobs.assertCompleted(grid.api, job, FINISH_MS);
      const tasks = view.tasks.map((t) => `#${t.index} resumed ${t.resumes.map((r) => `${r.from}@${r.seq}`).join(',') || 'never'}`);
      console.log(`  ${job.kind} ${job.id} completed at ${seconds(started)}; rollbacks ${view.rollbacks}; ${tasks.join('; ')}`);
    }

    await browser.close();
    browser = undefined;
    assert.equal((await grid.stop()).code, 0);
    const disk = checkDataFolder(dataDir);
    console.log(`  integrity_check: ${disk.integrity}; ${disk.blobsChecked} blobs named, ${disk.badBlobs.length} bad; ${seconds(started)} in all`);
    assert.equal(disk.integrity, 'ok');
    assert.deepEqual(disk.badBlobs, []);
  } catch (error) {
    console.error(`\n--- what the pages logged ---\n${log}\n---\n`);
    throw error;
  } finally {
    await browser?.close();
    await grid.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
