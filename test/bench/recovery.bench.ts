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
 * 1. The first tab gets the task; a second waits idle.
 * 2. Five losses to another, idle tab, alternately crashed (CDP
 *    `Page.crash`: no goodbye, the socket drops) and closed
 *    (Target.closeTarget, as Playwright's `page.close()`: `pagehide` says
 *    goodbye). Kills come at stratified times after an acknowledged
 *    checkpoint, (i + ½)/5 of the interval in round i, so the rounds sample
 *    the interval evenly rather than a best or worst case. Once the task runs
 *    again, a bare socket.io run is made from the new tab (its task running,
 *    its first upload seconds away: recovery-raw.page.ts), and a new idle tab
 *    is opened.
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
 *   (p_kill − p_ckpt) × the lost tab's ms per unit of progress ÷ 2000, see
 *   `redoFraction`; the notes say how old the resumed checkpoint was.
 * - `upload_efficiency`: median checkpoint upload throughput (uploads of
 *   8 MiB or more sent, every tab's, timed by the page) ÷ median bare
 *   socket.io throughput, like with like: runs and uploads that overlapped
 *   each other on a tab are left out (recovery-summary.ts); both in MiB/s as
 *   `upload_mib_s`, `raw_socket_mib_s`.
 */
import { readFileSync } from 'node:fs';
import { launchBrowser } from '../helpers/browser.ts';
import { startTestCoordinator } from '../helpers/test-coordinator.ts';
import { bundleFrameRecorder, msPerProgress, readFrames, readUploadSteps, timeAt } from './recovery-frames.ts';
import type { PageFrames, UploadStep } from './recovery-frames.ts';
import { bundleRawHarness, measureRaw, pageUploads, startRawSocketServer } from './recovery-raw.ts';
import type { TimedUpload } from './recovery-raw.ts';
import { firstReport, holderOf, lose, nextAck, openBenchVolunteer, resumed, sleep, taskView } from './recovery-rounds.ts';
import type { BenchVolunteer, Loss, RecoveryGrid, Resume } from './recovery-rounds.ts';
import { probeSegmentStores } from './recovery-probe.ts';
import { SaveWindows, summarize } from './recovery-summary.ts';
import type { LossRound, RecoveryData } from './recovery-summary.ts';
import { RawBrowser } from './recovery-tabs.ts';
import type { BenchReport } from './report.ts';

const MIB = 64;
/** Never reached: the task outlives the bench (~5 ms a round), which cancels it. */
const ROUNDS = 1_000_000;
const INTERVAL_MS = 2_000;
const COORDINATOR_ROUNDS = 5;
const LOCAL_ROUNDS = 3;
const MIN_UPLOAD_BYTES = 8 << 20;

/**
 * p_ckpt, the progress the resumed checkpoint holds, is the first progress the
 * resumed run reports minus one round: churn reports (r + 1)/ROUNDS after
 * round r, and a checkpoint stops it inside a round or between two, so the
 * first report after a resume ends the round the checkpoint interrupted (or
 * the one after), and one round less is what the checkpoint held whole (the
 * part of a round it held, < 1 round = ~5 ms, counts as redone). The seq
 * cannot tell: nothing maps a checkpoint to a round. p_kill is the last
 * progress the lost tab had sent, read right before the kill. The time per
 * unit of progress is the lost tab's own between the two: the redo is the
 * wall time from its passing p_ckpt to its last report (its checkpoint stops
 * included, as a rerun has them too); if p_ckpt came before its first report,
 * its pace over its last seconds stands in.
 */
function redoFraction(lost: PageFrames, firstResumed: number): Pick<LossRound, 'pKill' | 'pCkpt' | 'redoRounds' | 'redo'> {
  const last = lost.progress.at(-1);
  const pKill = last?.progress ?? Number.NaN;
  const pCkpt = firstResumed - 1 / ROUNDS;
  const passed = timeAt(lost.progress, pCkpt);
  const msPerUnit = msPerProgress(lost.progress);
  const redoMs = passed !== undefined && last ? last.at - passed : msPerUnit === undefined ? undefined : (pKill - pCkpt) * msPerUnit;
  return { pKill, pCkpt, redoRounds: Math.round((pKill - pCkpt) * ROUNDS), redo: redoMs === undefined ? undefined : redoMs / INTERVAL_MS };
}

/** Where the resume's time went, from what the new tab recorded: assignment, download, restart. */
function resumeSteps(loss: Loss, to: PageFrames): Pick<LossRound, 'assignMs' | 'downloadMs' | 'downloadBytes' | 'restartMs'> {
  const assignedAt = to.assigns.find((at) => at > loss.killedAt);
  const sentAt = to.resumes.find((at) => at > loss.killedAt);
  const segments = assignedAt === undefined || sentAt === undefined ? [] : to.binaryIn.filter((b) => b.at > assignedAt && b.at < sentAt);
  const downloadedAt = segments.at(-1)?.at;
  return {
    assignMs: assignedAt === undefined ? undefined : assignedAt - loss.lostAt,
    downloadMs: downloadedAt === undefined || assignedAt === undefined ? undefined : downloadedAt - assignedAt,
    downloadBytes: segments.reduce((sum, b) => sum + b.bytes, 0),
    restartMs: sentAt === undefined ? undefined : sentAt - (downloadedAt ?? assignedAt ?? Number.NaN),
  };
}

/** How old the resumed checkpoint was at the kill, and how long after its commit the coordinator had it. */
function checkpointAge(loss: Loss, seq: number): Pick<LossRound, 'ckptAgeMs' | 'saveMs' | 'ackLagMs'> {
  const local = loss.before.localCheckpoints.find((c) => c.seq === seq);
  const committedAt = local === undefined ? undefined : Date.parse(local.at);
  const acked = loss.before.lastCheckpoint?.seq === seq ? Date.parse(loss.before.lastCheckpoint.at) : undefined;
  return {
    ckptAgeMs: committedAt === undefined ? undefined : loss.killedAt - (committedAt - local!.saveMs),
    saveMs: local?.saveMs,
    ackLagMs: committedAt === undefined || acked === undefined ? undefined : acked - committedAt,
  };
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
    ...checkpointAge(loss, resume.record.seq),
    ...resumeSteps(loss, toFrames),
    loadToResumeMs: at - to.loadStartedAt,
    welcomeToResumeMs: toFrames.welcomeAt === undefined ? undefined : at - toFrames.welcomeAt,
    socketToResumeMs: toFrames.socketAt === undefined ? undefined : at - toFrames.socketAt,
  };
}

/** The shape of the tabs' first big upload (messages and their size): what a bare run sends. */
function uploadShape(uploads: Map<BenchVolunteer, TimedUpload[]>): { messages: number; messageBytes: number } | undefined {
  const model = [...uploads.values()].flat().find((u) => u.bytes >= MIN_UPLOAD_BYTES);
  return model && { messages: model.segments, messageBytes: Math.round(model.bytes / model.segments) };
}

export default async function recoveryBench(report: BenchReport): Promise<void> {
  const began = Date.now();
  const say = (line: string) => console.log(`  [${((Date.now() - began) / 1000).toFixed(1)} s] ${line}`);
  const [harness, recorder] = await Promise.all([bundleRawHarness(), bundleFrameRecorder()]);
  const coordinator = await startTestCoordinator();
  const browser = await launchBrowser();
  const raw = await RawBrowser.open(browser);
  const rawServer = await startRawSocketServer();
  const segmentStores = probeSegmentStores();
  const { api } = coordinator;
  let jobId: string | undefined;
  try {
    const program = (await api.postProgram(readFileSync(new URL('../fixtures/churn/program.wasm', import.meta.url)), 'wasm', 'churn')).id;
    jobId = (await api.postJob({ program, args: [String(MIB), String(ROUNDS)], checkpointIntervalMs: INTERVAL_MS })).id;
    const grid: RecoveryGrid = { raw, api, url: coordinator.coordinator.url, jobId, harness, recorder };
    const uploads = new Map<BenchVolunteer, TimedUpload[]>();
    const uploadSteps = new Map<BenchVolunteer, UploadStep[]>();
    const snapshot = async (v: BenchVolunteer) => {
      uploads.set(v, await pageUploads(v.tab));
      uploadSteps.set(v, await readUploadSteps(v.tab));
    };

    // 1. The first tab gets the task as it connects; the second waits idle.
    const first = await openBenchVolunteer(grid, 'V1');
    await holderOf(grid, [first]);
    const taskId = (await api.job(jobId)).tasks[0]!.id;
    let open = [first, await openBenchVolunteer(grid, 'V2')];
    say(`task ${taskId} running on V1`);

    // 2. Losses to another tab.
    const rounds: LossRound[] = [];
    const rawRuns: RecoveryData['raw'] = [];
    const saves = new SaveWindows();
    let shape: ReturnType<typeof uploadShape>;
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
      saves.add(loss.before);
      const resume = await resumed(grid, loss.before);
      // Elsewhere than the idle tab (a volunteer that dropped and came back), the round is reported and left out.
      const resumedAt = resume.view.volunteer === heir.id ? (await firstReport(heir, taskId, loss.killedAt)).progress : Number.NaN;
      const round = lossRound(kind, loss, resume, heir, await readFrames(heir.tab, taskId), resumedAt, ackSeenAt);
      rounds.push(round);
      say(`${kind} ${victim.name} → ${heir.name}: ${JSON.stringify(round)}`);
      // The bare run goes now, the task running again and its first checkpoint not yet requested: like the
      // page's uploads, which the checkpoint worker lets run between its saves (the summary checks both).
      shape ??= uploadShape(uploads);
      if (shape) rawRuns.push({ tab: heir, run: await measureRaw(heir.tab, { url: rawServer.url, ...shape, inFlight: 4 }) });
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
      saves.add(loss.before);
      const resuming = resumed(grid, loss.before);
      resuming.catch(() => {}); // awaited below; a failed reopen must not leave its rejection unhandled
      const reopened = await openBenchVolunteer(grid, `${victim.name.split('.')[0]}.${i + 1}`, victim.tab.contextId);
      const resume = await resuming;
      const resumedAt = resume.view.volunteer === reopened.id ? (await firstReport(reopened, taskId, loss.killedAt)).progress : Number.NaN;
      const round = lossRound('local', loss, resume, reopened, await readFrames(reopened.tab, taskId), resumedAt, ackSeenAt);
      rounds.push(round);
      say(`reopen ${victim.name} → ${reopened.name}: ${JSON.stringify(round)}`);
      open = [reopened];
    }
    await snapshot(open[0]!);
    saves.add(await taskView(grid));

    summarize(report, { rounds, raw: rawRuns, uploads, uploadSteps, saves: saves.list(), segmentStoreMs: segmentStores.samples, minUploadBytes: MIN_UPLOAD_BYTES });
    report.note(`churn ${MIB} MiB, checkpoint every ${INTERVAL_MS} ms; bench took ${((Date.now() - began) / 1000).toFixed(0)} s`);
  } catch (error) {
    console.error(raw.lines.join('\n') || '(the tabs logged no warnings or errors)');
    throw error;
  } finally {
    segmentStores.restore();
    if (jobId) await api.call('POST', `/api/jobs/${jobId}/cancel`).catch(() => {});
    await raw.close();
    await browser.close().catch(() => {});
    await rawServer.close();
    await coordinator.close();
  }
}
