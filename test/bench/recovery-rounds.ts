/**
 * The moves of recovery.bench.ts on the real grid: volunteer tabs (raw CDP
 * tabs, recovery-tabs.ts) that record their socket's progress reports, the
 * task's view polled every 20 ms, and one loss of the task's tab followed by
 * its resume (on another tab or the reopened one).
 */
import type { ResumeRecord, TaskView } from '../../shared/http-api.ts';
import type { ApiClient } from '../helpers/api-client.ts';
import { pollUntil } from '../helpers/wait-for.ts';
import { firstProgress, readFrames } from './recovery-frames.ts';
import type { PageFrames, ProgressFrame } from './recovery-frames.ts';
import { installRawHarness } from './recovery-raw.ts';
import type { RawBrowser, RawTab } from './recovery-tabs.ts';

/** How often the task's view is read: the resolution of every loss and resume time. */
export const POLL_MS = 20;
/** As openVolunteer's, doubled: a cold tab on a busy 2-core machine loads the page and connects. */
const PAGE_READY_MS = 30_000;
/** Generous: a checkpoint of 64 MiB is saved and uploaded on a shared 2-core machine. */
const ACK_TIMEOUT_MS = 90_000;
const LOSS_TIMEOUT_MS = 30_000;
const RESUME_TIMEOUT_MS = 90_000;

export interface RecoveryGrid {
  raw: RawBrowser;
  api: ApiClient;
  url: string;
  jobId: string;
  /** recovery-raw.page.ts and recovery-frames.page.ts, bundled. */
  harness: string;
  recorder: string;
}

export interface BenchVolunteer {
  readonly name: string;
  readonly tab: RawTab;
  /** The volunteer id the page shows (and the coordinator's tasks name). */
  readonly id: string;
  /** `Date.now()` right before the tab was sent to the volunteer page. */
  readonly loadStartedAt: number;
}

const READY = `(() => {
  if (document.querySelector('#status')?.dataset.connected !== 'true') return null;
  return /· id (\\S+)$/.exec(document.querySelector('#counts')?.textContent ?? '')?.[1] ?? null;
})()`;

/**
 * Opens `/volunteer?workers=1&name=…` in a new tab of `contextId` (a volunteer's
 * profile: reopening in it is the same volunteer) or of a fresh profile, and
 * resolves once it is connected and welcomed, as openVolunteer does.
 */
export async function openBenchVolunteer(grid: RecoveryGrid, name: string, contextId?: string): Promise<BenchVolunteer> {
  const tab = await grid.raw.openTab(contextId ?? (await grid.raw.newContext()), `volunteer ${name}`);
  await tab.send('Page.addScriptToEvaluateOnNewDocument', { source: grid.recorder });
  const loadStartedAt = Date.now();
  await tab.send('Page.navigate', { url: `${grid.url}/volunteer?${new URLSearchParams({ workers: '1', name })}` });
  // Reads during the navigation fail (no context yet): they count as "not yet".
  const id = await pollUntil(async () => (await tab.evaluate<string | null>(READY).catch(() => null)) ?? undefined, PAGE_READY_MS, `volunteer ${name} to connect`, 50);
  await installRawHarness(tab, grid.harness);
  return { name, tab, id, loadStartedAt };
}

export async function taskView(grid: RecoveryGrid): Promise<TaskView> {
  return (await grid.api.job(grid.jobId)).tasks[0]!;
}

/**
 * The tab among `open` the task runs on, once it runs on one. Usually the
 * bench knows, but a volunteer whose socket drops on its own (a ping timeout
 * on a crawling link) loses the task to the idle tab, or gets it back.
 */
export async function holderOf(grid: RecoveryGrid, open: readonly BenchVolunteer[]): Promise<BenchVolunteer> {
  return pollUntil(
    async () => {
      const task = await taskView(grid);
      return task.state === 'running' ? open.find((v) => v.id === task.volunteer) : undefined;
    },
    RESUME_TIMEOUT_MS,
    `the task to run on one of ${open.map((v) => v.name).join(', ')}`,
    POLL_MS,
  );
}

/** The task's next acknowledged checkpoint after the one acknowledged now, as soon as a poll sees it. */
export async function nextAck(grid: RecoveryGrid): Promise<TaskView> {
  const now = await taskView(grid);
  const after = now.lastCheckpoint?.seq ?? 0;
  return pollUntil(
    async () => {
      const task = await taskView(grid);
      return task.state === 'running' && (task.lastCheckpoint?.seq ?? 0) > after ? task : undefined;
    },
    ACK_TIMEOUT_MS,
    `an acknowledged checkpoint after ${after}`,
    POLL_MS,
  );
}

export interface Loss {
  /** The view read right before the kill. */
  before: TaskView;
  /** What the victim had sent, read right before the kill (its last progress is p_kill). */
  frames: PageFrames;
  killedAt: number;
  /** When a poll first saw the task lost (restarted, or no longer running). */
  lostAt: number;
}

/** Reads the task and the victim's reports, kills the victim, and polls until the coordinator has marked the task lost. */
export async function lose(grid: RecoveryGrid, victim: BenchVolunteer, taskId: string, kill: 'close' | 'crash'): Promise<Loss> {
  const [before, frames] = await Promise.all([taskView(grid), readFrames(victim.tab, taskId)]);
  if (before.volunteer !== victim.id || before.state !== 'running') throw new Error(`the task is not running on ${victim.name}: ${JSON.stringify(before)}`);
  const killedAt = Date.now();
  const killing = kill === 'close' ? victim.tab.close() : Promise.resolve(victim.tab.crash());
  const lostAt = await pollUntil(
    async () => {
      const task = await taskView(grid);
      return task.restarts > before.restarts || task.state !== 'running' ? Date.now() : undefined;
    },
    LOSS_TIMEOUT_MS,
    'the coordinator to mark the task lost',
    POLL_MS,
  );
  await killing;
  return { before, frames, killedAt, lostAt };
}

export interface Resume {
  record: ResumeRecord;
  /** When a poll first saw the record. */
  seenAt: number;
  view: TaskView;
}

/** Polls until the task has a `resumes` entry newer than those in `before`. */
export function resumed(grid: RecoveryGrid, before: TaskView): Promise<Resume> {
  return pollUntil(
    async () => {
      const view = await taskView(grid);
      const record = view.resumes[before.resumes.length];
      return record ? { record, seenAt: Date.now(), view } : undefined;
    },
    RESUME_TIMEOUT_MS,
    'the task to resume',
    POLL_MS,
  );
}

/** The first progress report `volunteer` sends for the task after `after` (the first round it completes after resuming). */
export function firstReport(volunteer: BenchVolunteer, taskId: string, after: number): Promise<ProgressFrame> {
  return pollUntil(() => firstProgress(volunteer.tab, taskId, after), 30_000, `a progress report from ${volunteer.name}`, POLL_MS);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
