/**
 * The moves of recovery.bench.ts on the real grid: volunteer tabs that record
 * their socket frames, the task's view polled every 20 ms, and one loss of the
 * task's tab followed by its resume (on another tab or the reopened one).
 */
import type { Browser, BrowserContext } from 'playwright-core';
import type { ResumeRecord, TaskView } from '../../shared/http-api.ts';
import type { ApiClient } from '../helpers/api-client.ts';
import type { PageLog } from '../helpers/browser.ts';
import { openVolunteer } from '../helpers/e2e-pages.ts';
import type { VolunteerPage } from '../helpers/e2e-pages.ts';
import { pollUntil } from '../helpers/wait-for.ts';
import { FrameLog } from './recovery-frames.ts';
import { installRawHarness } from './recovery-raw.ts';

/** How often the task's view is read: the resolution of every loss and resume time. */
export const POLL_MS = 20;
/** Generous: a checkpoint of 64 MiB is saved and uploaded on a shared 2-core machine. */
const ACK_TIMEOUT_MS = 60_000;
const LOSS_TIMEOUT_MS = 30_000;
const RESUME_TIMEOUT_MS = 60_000;

export interface RecoveryGrid {
  browser: Browser;
  api: ApiClient;
  url: string;
  log: PageLog;
  jobId: string;
  /** recovery-raw.page.ts, bundled. */
  harness: string;
}

export interface BenchVolunteer {
  readonly name: string;
  readonly v: VolunteerPage;
  readonly frames: FrameLog;
  /** `Date.now()` right before the page was sent to the volunteer address. */
  readonly loadStartedAt: number;
}

/** Opens a volunteer tab (in `context`: the same profile reopened) that records its frames and stamps its uploads. */
export async function openBenchVolunteer(grid: RecoveryGrid, name: string, context?: BrowserContext): Promise<BenchVolunteer> {
  let frames: FrameLog | undefined;
  let loadStartedAt = 0;
  const v = await openVolunteer(grid.browser, grid.url, grid.log, {
    name,
    workers: 1,
    ...(context ? { context } : {}),
    beforeLoad: (page) => {
      frames = new FrameLog(page, grid.url);
      loadStartedAt = Date.now();
    },
  });
  await installRawHarness(v.page, grid.harness);
  return { name, v, frames: frames!, loadStartedAt };
}

export async function taskView(grid: RecoveryGrid): Promise<TaskView> {
  return (await grid.api.job(grid.jobId)).tasks[0]!;
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
  killedAt: number;
  /** When a poll first saw the task lost (restarted, or no longer running). */
  lostAt: number;
}

/** Reads the task, runs `kill`, and polls until the coordinator has marked the task lost. */
export async function lose(grid: RecoveryGrid, kill: () => Promise<void>): Promise<Loss> {
  const before = await taskView(grid);
  const killedAt = Date.now();
  const killing = kill();
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
  return { before, killedAt, lostAt };
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

/** Kills a tab the hard way: its renderer crashes, so no `pagehide`, no goodbye; only the dropped socket tells. */
export async function crash(volunteer: BenchVolunteer): Promise<void> {
  const { page, context } = volunteer.v;
  const cdp = await context.newCDPSession(page);
  const crashed = page.waitForEvent('crash');
  // Page.crash never answers: the renderer it would answer from is gone.
  void cdp.send('Page.crash').catch(() => {});
  await crashed;
}

/** The first progress report `volunteer` sends for the task (the first round it completes after resuming). */
export function firstProgress(volunteer: BenchVolunteer, taskId: string): Promise<number> {
  return pollUntil(async () => volunteer.frames.of(taskId)[0]?.progress, 15_000, `a progress report from ${volunteer.name}`, POLL_MS);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
