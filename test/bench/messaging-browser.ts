/**
 * Coordinated checkpoints of real ranks (messaging.bench.ts): the built-in
 * `jacobi` as an 8-rank job on Debian's Chromium, one volunteer tab of one
 * worker per rank, so that each tab's `volunteerStats.roundWaits()` is one
 * rank's list (a tab of two ranks concatenates theirs). Tabs are driven over
 * raw CDP (recovery-tabs.ts): Playwright mirrors every WebSocket frame of the
 * pages it drives, which slowed their sockets ~16×, and every message between
 * ranks goes over the volunteers' sockets.
 *
 * What it returns per rank, in checkpoint order: the gate waits the page
 * recorded (the rank stopped, checkpointed, said `round:enter`, and waited
 * for `round:release`) and the stopMs of its local checkpoints from the job
 * view. Read while the job still runs (a stopped rank takes its waits with
 * it), so each list is cut to what both sides have recorded.
 */
import type { JobView } from '../../shared/http-api.ts';
import type { ApiClient } from '../helpers/api-client.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { pollUntil } from '../helpers/wait-for.ts';
import { RawBrowser } from './recovery-tabs.ts';

/** A cold tab on a busy 2-core machine loads the page and connects (as recovery-rounds.ts). */
const PAGE_READY_MS = 30_000;
/** Posting to every rank's first checkpoint: jacobi is instrumented at its first download. */
const RUNNING_TIMEOUT_MS = 90_000;

const READY = `(() => {
  if (document.querySelector('#status')?.dataset.connected !== 'true') return null;
  return /· id (\\S+)$/.exec(document.querySelector('#counts')?.textContent ?? '')?.[1] ?? null;
})()`;

export interface BrowserRankRun {
  ranks: number;
  /** By rank: gate waits (ms) and checkpoint stops (ms), index k = the rank's k-th checkpoint. */
  waits: number[][];
  stops: number[][];
  /** By rank: the seqs of those checkpoints. */
  seqs: number[][];
  /** Before cutting: how many waits and local checkpoints each rank had. */
  counts: { waits: number; checkpoints: number }[];
  job: JobView;
  /** From every rank's first checkpoint to the read. */
  ranMs: number;
}

export interface BrowserRankOptions {
  ranks: number;
  args: string[];
  checkpointIntervalMs: number;
  runMs: number;
  say(line: string): void;
}

export async function runBrowserRanks(url: string, api: ApiClient, options: BrowserRankOptions): Promise<BrowserRankRun> {
  const browser = await launchBrowser();
  const raw = await RawBrowser.open(browser);
  let jobId: string | undefined;
  try {
    const tabs = await Promise.all(
      Array.from({ length: options.ranks }, async (_, i) => {
        const tab = await raw.openTab(await raw.newContext(), `volunteer M${i}`);
        await tab.send('Page.navigate', { url: `${url}/volunteer?${new URLSearchParams({ workers: '1', name: `M${i}` })}` });
        const id = await pollUntil(async () => (await tab.evaluate<string | null>(READY).catch(() => null)) ?? undefined, PAGE_READY_MS, `tab M${i} to connect`, 50);
        return { tab, id };
      }),
    );
    options.say(`${tabs.length} volunteer tabs connected`);
    jobId = (await api.postJob({ program: 'jacobi', name: 'messaging-browser', args: options.args, ranks: options.ranks, checkpointIntervalMs: options.checkpointIntervalMs })).id;
    const id = jobId;
    // 'running' means assigned: a rank checkpoints once its program has loaded (downloaded, instrumented, compiled).
    await api.waitForJob(id, (j) => j.tasks.length === options.ranks && j.tasks.every((t) => t.state === 'running' && t.localCheckpoints.length > 0), RUNNING_TIMEOUT_MS);
    const runningAt = Date.now();
    options.say(`jacobi ${options.args.join(' ')}: every one of ${options.ranks} ranks checkpointed; measuring for ${options.runMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, options.runMs));

    const waitsByVolunteer = new Map(await Promise.all(tabs.map(async ({ tab, id: v }) => [v, await tab.evaluate<number[]>('volunteerStats.roundWaits()')] as const)));
    const job = await api.job(id);
    const ranMs = Date.now() - runningAt;
    const run: BrowserRankRun = { ranks: options.ranks, waits: [], stops: [], seqs: [], counts: [], job, ranMs };
    for (const task of [...job.tasks].sort((a, b) => a.index - b.index)) {
      const waits = task.volunteer === undefined ? undefined : waitsByVolunteer.get(task.volunteer);
      if (task.state !== 'running' || !waits) throw new Error(`rank ${task.index} is ${task.state} on ${task.volunteer ?? 'no volunteer'}, not on one of the bench's tabs`);
      const checkpoints = [...task.localCheckpoints].sort((a, b) => a.seq - b.seq);
      const n = Math.min(waits.length, checkpoints.length);
      run.counts.push({ waits: waits.length, checkpoints: checkpoints.length });
      run.waits.push(waits.slice(0, n));
      run.stops.push(checkpoints.slice(0, n).map((c) => c.stopMs));
      run.seqs.push(checkpoints.slice(0, n).map((c) => c.seq));
    }
    return run;
  } catch (error) {
    console.error(raw.lines.join('\n') || '(the tabs logged no warnings or errors)');
    throw error;
  } finally {
    if (jobId) await api.call('POST', `/api/jobs/${jobId}/cancel`).catch(() => {});
    await raw.close();
    await browser.close().catch(() => {});
  }
}
