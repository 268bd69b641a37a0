/**
 * What losing a volunteer's tab costs (issue 5, `npm run bench -- recovery`),
 * on the real grid: an in-process coordinator, Debian's Chromium
 * (launchBrowser), volunteer tabs of one worker each, each its own profile.
 * The tabs are driven over a raw CDP session, not as Playwright pages:
 * Playwright mirrors every WebSocket frame of its pages and that made their
 * sockets ~16× slower (recovery-tabs.ts). One task of the churn fixture
 * (64 MiB of process memory it keeps rewriting, so every checkpoint is
 * ~64 MiB, uploaded as ~1 MiB segments) with a checkpoint every 2 s runs
 * through a chain of losses:
 *
 * 1. On the first tab, while the task runs, the page's own uploads are timed
 *    and a bare socket.io link from the same page is measured, each run
 *    starting as one of its uploads ends (recovery-raw.page.ts).
 * 2. Five losses to another, idle tab, alternately crashed (CDP
 *    `Page.crash`: no goodbye, the socket drops) and closed
 *    (Target.closeTarget, as Playwright's `page.close()`: `pagehide` says
 *    goodbye). Kills come at stratified times after an acknowledged
 *    checkpoint, (i + ½)/5 of the interval in round i, so the rounds sample
 *    the interval evenly rather than a best or worst case. A new idle tab is
 *    opened after each.
 * 3. Three times, the only tab is closed right after an acknowledged
 *    checkpoint and reopened in the same profile: it resumes from its own
 *    IndexedDB.
 *
 * Metrics (medians; every round is printed):
 * - `detect_ms` / `detect_ms_crash`: the kill's start → a 20 ms poll of the
 *   job sees the task lost (`restarts` grew or it left 'running'). `detect_ms`
 *   counts the closes of steps 2 and 3.
 * - `resume_ms`: that poll → the `at` of the task's new `resumes` entry (the
 *   coordinator stamps it when the new tab reports the task running again:
 *   assignment, download of the chain, restore and restart included).
 * - `local_resume_ms`: right before the reopened tab's navigation → its
 *   `resumes` entry (`from: 'local'`); `local_resume_from_welcome_ms` from
 *   the tab's receipt of the answer to its hello (page load and connect
 *   excluded).
 * - `redo_fraction`: work done again after a loss ÷ the checkpoint interval:
 *   (p_kill − p_ckpt) × ms per unit of progress ÷ 2000, see `redoFraction`.
 * - `upload_efficiency`: median checkpoint upload throughput (uploads of
 *   8 MiB or more sent) ÷ median bare socket.io throughput from the first
 *   tab, like with like (recovery-summary.ts); both in MiB/s as
 *   `upload_mib_s`, `raw_socket_mib_s`.
 */
import { readFileSync } from 'node:fs';
import { launchBrowser } from '../helpers/browser.ts';
import { startTestCoordinator } from '../helpers/test-coordinator.ts';
import { bundleFrameRecorder, msPerProgress, readFrames } from './recovery-frames.ts';
import type { PageFrames } from './recovery-frames.ts';
import { bundleRawHarness, measureRaw, pageUploads, startRawSocketServer } from './recovery-raw.ts';
import type { TimedUpload } from './recovery-raw.ts';
import { firstReport, holderOf, lose, nextAck, openBenchVolunteer, resumed, sleep } from './recovery-rounds.ts';
import type { BenchVolunteer, Loss, RecoveryGrid, Resume } from './recovery-rounds.ts';
import { summarize } from './recovery-summary.ts';
import type { LossRound } from './recovery-summary.ts';
import { RawBrowser } from './recovery-tabs.ts';
import type { BenchReport } from './report.ts';

const MIB = 64;
/** Never reached: the task outlives the bench (~5 ms a round), which cancels it. */
const ROUNDS = 1_000_000;
const INTERVAL_MS = 2_000;
const COORDINATOR_ROUNDS = 5;
const LOCAL_ROUNDS = 3;
const RAW_RUNS = 3;
const MIN_UPLOAD_BYTES = 8 << 20;
/** Each bare run waits for one of the page's uploads to end (up to this long), then sends ~64 MiB. */
const RAW_WAIT_MS = 90_000;

/**
 * p_ckpt, the progress the resumed checkpoint holds, is the first progress the
 * resumed run reports minus one round: churn reports (r + 1)/ROUNDS after
 * round r, and a checkpoint stops it inside a round or between two, so the
 * first report after a resume ends the round the checkpoint interrupted (or
 * the one after), and one round less is what the checkpoint held whole (the
 * part of a round it held, < 1 round = ~5 ms, counts as redone). The seq
 * cannot tell: nothing maps a checkpoint to a round. p_kill is the last
 * progress the lost tab had sent when read right before the kill. The pace is
 * the lost tab's own over its run.
 */
function redoFraction(lost: PageFrames, firstResumed: number): { pKill: number; pCkpt: number; redo: number | undefined } {
  const pKill = lost.progress.at(-1)?.progress ?? Number.NaN;
  const pCkpt = firstResumed - 1 / ROUNDS;
  const msPerUnit = msPerProgress(lost.progress);
  return { pKill, pCkpt, redo: msPerUnit === undefined ? undefined : ((pKill - pCkpt) * msPerUnit) / INTERVAL_MS };
}

function lossRound(kind: LossRound['kind'], loss: Loss, resume: Resume, to: BenchVolunteer, toFrames: PageFrames, first: number, ackSeenAt: number): LossRound {
  const at = Date.parse(resume.record.at);
  return {
    kind,
    ackToKillMs: loss.killedAt - ackSeenAt,
    detectMs: loss.lostAt - loss.killedAt,
    resumeMs: at - loss.lostAt,
    resumeSeenMs: resume.seenAt - loss.lostAt,
    from: resume.record.from,
    seq: resume.record.seq,
    movedTo: resume.view.volunteer === to.id,
    ...redoFraction(loss.frames, first),
    loadToResumeMs: at - to.loadStartedAt,
    welcomeToResumeMs: toFrames.welcomeAt === undefined ? undefined : at - toFrames.welcomeAt,
    socketToResumeMs: toFrames.socketAt === undefined ? undefined : at - toFrames.socketAt,
  };
}

export default async function recoveryBench(report: BenchReport): Promise<void> {
  const began = Date.now();
  const say = (line: string) => console.log(`  [${((Date.now() - began) / 1000).toFixed(1)} s] ${line}`);
  const [harness, recorder] = await Promise.all([bundleRawHarness(), bundleFrameRecorder()]);
  const coordinator = await startTestCoordinator();
  const browser = await launchBrowser();
  const raw = await RawBrowser.open(browser);
  const rawServer = await startRawSocketServer();
  const { api } = coordinator;
  let jobId: string | undefined;
  try {
    const program = (await api.postProgram(readFileSync(new URL('../fixtures/churn/program.wasm', import.meta.url)), 'wasm', 'churn')).id;
    jobId = (await api.postJob({ program, args: [String(MIB), String(ROUNDS)], checkpointIntervalMs: INTERVAL_MS })).id;
    const grid: RecoveryGrid = { raw, api, url: coordinator.coordinator.url, jobId, harness, recorder };
    const uploads = new Map<BenchVolunteer, TimedUpload[]>();
    const snapshot = async (v: BenchVolunteer) => void uploads.set(v, await pageUploads(v.tab));

    // 1. The first tab gets the task as it connects; the second waits idle.
    const first = await openBenchVolunteer(grid, 'V1');
    await holderOf(grid, [first]);
    const taskId = (await api.job(jobId)).tasks[0]!.id;
    let open = [first, await openBenchVolunteer(grid, 'V2')];
    say(`task ${taskId} running on V1; bare socket.io runs from it as its uploads end`);
    const rawRuns = await measureRaw(
      first.tab,
      { url: rawServer.url, runs: RAW_RUNS, inFlight: 4, minUploadBytes: MIN_UPLOAD_BYTES, waitMs: RAW_WAIT_MS },
      (RAW_RUNS + 2) * RAW_WAIT_MS,
    );
    await snapshot(first);
    say(`bare socket.io: ${rawRuns.runs.map((r) => `${(r.bytes / 2 ** 20 / (r.ms / 1000)).toFixed(1)} MiB/s`).join(', ')}`);

    // 2. Losses to another tab.
    const rounds: LossRound[] = [];
    let opened = open.length;
    for (let i = 0; i < COORDINATOR_ROUNDS; i++) {
      const kind = i % 2 === 0 ? 'crash' : 'close';
      await nextAck(grid);
      const ackSeenAt = Date.now();
      const victim = await holderOf(grid, open);
      const heir = open.find((v) => v !== victim)!;
      await snapshot(victim);
      await sleep(((i + 0.5) / COORDINATOR_ROUNDS) * INTERVAL_MS - (Date.now() - ackSeenAt));
      const loss = await lose(grid, victim, taskId, kind);
      const resume = await resumed(grid, loss.before);
      const resumedAt = await firstReport(heir, taskId, loss.killedAt);
      const round = lossRound(kind, loss, resume, heir, await readFrames(heir.tab, taskId), resumedAt.progress, ackSeenAt);
      rounds.push(round);
      say(`${kind} ${victim.name} → ${heir.name}: ${JSON.stringify(round)}`);
      await raw.disposeContext(victim.tab.contextId);
      open = open.filter((v) => v !== victim);
      if (i + 1 < COORDINATOR_ROUNDS) open.push(await openBenchVolunteer(grid, `V${++opened}`));
    }

    // 3. The only tab closed and reopened in its profile.
    for (let i = 0; i < LOCAL_ROUNDS; i++) {
      await nextAck(grid);
      const ackSeenAt = Date.now();
      const victim = await holderOf(grid, open);
      await snapshot(victim);
      const loss = await lose(grid, victim, taskId, 'close');
      const resuming = resumed(grid, loss.before);
      resuming.catch(() => {}); // awaited below; a failed reopen must not leave its rejection unhandled
      const reopened = await openBenchVolunteer(grid, `${victim.name.split('.')[0]}.${i + 1}`, victim.tab.contextId);
      const resume = await resuming;
      const resumedAt = await firstReport(reopened, taskId, loss.killedAt);
      const round = lossRound('local', loss, resume, reopened, await readFrames(reopened.tab, taskId), resumedAt.progress, ackSeenAt);
      rounds.push(round);
      say(`reopen ${victim.name} → ${reopened.name}: ${JSON.stringify(round)}`);
      open = [reopened];
    }
    await snapshot(open[0]!);

    summarize(report, { rounds, raw: rawRuns, rawPage: first, uploads, minUploadBytes: MIN_UPLOAD_BYTES });
    report.note(`churn ${MIB} MiB, checkpoint every ${INTERVAL_MS} ms; bench took ${((Date.now() - began) / 1000).toFixed(0)} s`);
  } catch (error) {
    console.error(raw.lines.join('\n') || '(the tabs logged no warnings or errors)');
    throw error;
  } finally {
    if (jobId) await api.call('POST', `/api/jobs/${jobId}/cancel`).catch(() => {});
    await raw.close();
    await browser.close().catch(() => {});
    await rawServer.close();
    await coordinator.close();
  }
}
