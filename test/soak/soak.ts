/**
 * `npm run soak -- --minutes 10` (or SOAK_MINUTES): the crash test's faults
 * for as long as asked. A coordinator in a child process (killed with
 * SIGKILL and restarted on the same port and data folder), four Chromium
 * volunteer tabs (two of them behind a proxy that can cut their connection),
 * and pairs of jobs with known outputs (churn with checkpoints, a 2-rank
 * jacobi) posted one pair after another. Every few seconds a fault from
 * faults.ts, drawn with a seeded generator (SOAK_SEED), is injected. At the
 * end it waits for every job, then prints how many of each fault were
 * injected, how many jobs completed with the reference output, and the
 * "nothing lost" checks; it exits 1 if any of them failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { PageLog, launchBrowser } from '../helpers/browser.ts';
import { startCoordinatorChild } from '../helpers/coordinator-child.ts';
import type { CoordinatorChild } from '../helpers/coordinator-child.ts';
import { checkDataFolder } from '../helpers/coordinator-child-disk.ts';
import { KnownJobs, jobFinished } from '../helpers/coordinator-child-jobs.ts';
import type { PostedJob } from '../helpers/coordinator-child-jobs.ts';
import { JobWatch } from '../helpers/coordinator-child-watch.ts';
import { startCuttingProxy } from '../helpers/cutting-proxy.ts';
import { openVolunteer } from '../helpers/e2e-pages.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import { FAULTS } from './faults.ts';
import type { SoakVolunteer, SoakWorld } from './faults.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string' } } });
const MINUTES = Number(values.minutes ?? process.env.SOAK_MINUTES ?? 10);
const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
const TOKEN = 'soak-token';
/** A pair of jobs takes about a minute on a quiet 2-core machine. */
const SIZES = { churnTasks: [['4', '2000'], ['4', '1600']], jacobiArgs: ['256', '600', '100'], jacobiRanks: 2 };
/** The gap between two faults is drawn from [GAP_MIN_MS, GAP_MAX_MS). */
const GAP_MIN_MS = 2_000;
const GAP_MAX_MS = 6_000;
/** How long the jobs still running at the end get to finish. */
const DRAIN_MS = 300_000;
const TABS = [
  { name: 'A', workers: 2, proxied: false },
  { name: 'B', workers: 1, proxied: true },
  { name: 'C', workers: 1, proxied: false },
  { name: 'D', workers: 1, proxied: true },
];

const log = new PageLog();
const note = (line: string) => {
  log.note(line);
  console.log(line);
};

async function main(): Promise<boolean> {
  if (!(MINUTES > 0)) throw new Error(`--minutes: expected a positive number, got ${values.minutes ?? process.env.SOAK_MINUTES}`);
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s`;
  const jobs = new KnownJobs(SIZES);
  const dataDir = mkdtempSync(join(tmpdir(), 'grid-soak-'));
  let grid: CoordinatorChild = await startCoordinatorChild({ dataDir, token: TOKEN });
  const proxy = await startCuttingProxy(new URL(grid.url));
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const volunteers: SoakVolunteer[] = await Promise.all(
      TABS.map(async ({ name, workers, proxied }) => {
        const baseUrl = proxied ? proxy.url : grid.url;
        const opened = await openVolunteer(browser!, baseUrl, log, { name, workers });
        return { name, workers, baseUrl, context: opened.context, page: opened.page };
      }),
    );
    await jobs.prepare(grid.api, grid.url);
    const posted: PostedJob[] = [];
    const lost: string[] = [];
    const world: SoakWorld = {
      browser,
      log,
      proxy,
      volunteers,
      watch: new JobWatch(grid.api, () => posted.map((job) => job.id)),
      random: seededRandom(SEED),
      grid: () => grid,
      restart: async () => (grid = await startCoordinatorChild({ dataDir, token: TOKEN, port: grid.port })),
      lost: (violations) => lost.push(...violations),
    };
    const injected = new Map<string, number>(FAULTS.map((f) => [f.name, 0]));
    /** Jobs already compared with their reference, with the verdict. */
    const checked = new Map<string, string | undefined>();
    const check = async (job: PostedJob, timeoutMs: number) => {
      try {
        await jobs.assertCompleted(grid.api, job, timeoutMs);
        checked.set(job.id, undefined);
      } catch (error) {
        checked.set(job.id, (error as Error).message.split('\n')[0]);
        note(`${at()} ${job.kind} ${job.id}: ${checked.get(job.id)}`);
      }
    };
    note(`soak: ${MINUTES} min, seed ${SEED}, data ${dataDir}`);

    while (Date.now() - started < MINUTES * 60_000) {
      const views = await world.watch.read().then((o) => o.latest, () => []);
      for (const view of views.filter(jobFinished)) await check(posted.find((j) => j.id === view.id)!, 10_000);
      if (posted.every((job) => checked.has(job.id))) {
        const pair = await jobs.postPair(grid.api);
        posted.push(...pair);
        note(`${at()} posted ${pair.map((j) => `${j.kind} ${j.id}`).join(', ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, GAP_MIN_MS + world.random() * (GAP_MAX_MS - GAP_MIN_MS)));
      const fault = FAULTS[Math.floor(world.random() * FAULTS.length)]!;
      const what = await fault.inject(world).catch((error: unknown) => `failed to inject: ${String(error)}`);
      if (what === undefined) continue;
      injected.set(fault.name, injected.get(fault.name)! + 1);
      note(`${at()} ${fault.name}: ${what}`);
    }

    note(`${at()} injection over; waiting for ${posted.filter((j) => !checked.has(j.id)).length} jobs`);
    for (const job of posted.filter((j) => !checked.has(j.id))) await check(job, DRAIN_MS);
    await browser.close();
    browser = undefined;
    const stopped = await grid.stop();
    const disk = checkDataFolder(dataDir);
    const failedJobs = [...checked.values()].filter((verdict) => verdict !== undefined);

    const rows: Array<[string, string]> = [
      ...[...injected].map(([name, count]): [string, string] => [`fault: ${name}`, String(count)]),
      ['jobs completed with the reference output', `${checked.size - failedJobs.length} of ${posted.length}`],
      ['acknowledged work lost across restarts', lost.length === 0 ? 'none' : `${lost.length}: ${lost.join('; ')}`],
      ['PRAGMA integrity_check', disk.integrity],
      ['blobs named by the database, present and intact', `${disk.blobsChecked - disk.badBlobs.length} of ${disk.blobsChecked}`],
      ['coordinator stopped cleanly at the end', stopped.code === 0 ? 'yes' : JSON.stringify(stopped)],
      ['minutes', ((Date.now() - started) / 60_000).toFixed(1)],
    ];
    const width = Math.max(...rows.map(([name]) => name.length));
    console.log(`\n${rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')}`);
    const ok = failedJobs.length === 0 && lost.length === 0 && disk.integrity === 'ok' && disk.badBlobs.length === 0 && stopped.code === 0;
    console.log(ok ? '\nnothing lost' : '\nSOMETHING WAS LOST (see above)');
    if (ok) rmSync(dataDir, { recursive: true, force: true });
    return ok;
  } finally {
    await browser?.close();
    await grid.kill();
    await proxy.close();
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error: unknown) => {
    console.error(error, `\n--- what the pages logged ---\n${log}`);
    process.exit(1);
  },
);
