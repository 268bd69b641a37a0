/** recovery.bench.ts's rounds and throughputs turned into its metrics and per-round notes. */
import type { ResumeRecord } from '../../shared/http-api.ts';
import type { RawResult, RawRun, TimedUpload } from './recovery-raw.ts';
import type { BenchVolunteer } from './recovery-rounds.ts';
import type { BenchReport } from './report.ts';
import { median } from './stats.ts';

/** One loss and its resume; times in ms. */
export interface LossRound {
  kind: 'close' | 'crash' | 'local';
  /** A poll saw the checkpoint acknowledged → the kill. */
  ackToKillMs: number;
  detectMs: number;
  /** Loss seen → the coordinator's `at` of the resume. */
  resumeMs: number;
  /** Loss seen → a poll saw the resume. */
  resumeSeenMs: number;
  from: ResumeRecord['from'];
  seq: number;
  /** The task resumed on the tab meant to get it. */
  movedTo: boolean;
  pKill: number;
  pCkpt: number;
  redo: number | undefined;
  /** The new tab's `goto` → the resume (only meaningful for a reopened tab). */
  loadToResumeMs: number;
  welcomeToResumeMs: number | undefined;
  socketToResumeMs: number | undefined;
}

export interface RecoveryData {
  rounds: LossRound[];
  raw: RawResult;
  /** The tab the bare socket.io runs were made from. */
  rawPage: BenchVolunteer;
  /** Every tab's uploads, as last read. */
  uploads: Map<BenchVolunteer, TimedUpload[]>;
  minUploadBytes: number;
}

const MiB = 2 ** 20;
const mibPerS = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const fmt = (values: readonly (number | undefined)[], digits = 0) => values.map((v) => (v === undefined ? '?' : v.toFixed(digits))).join(' ');
const defined = (values: readonly (number | undefined)[]) => values.filter((v): v is number => v !== undefined && Number.isFinite(v));

function overlaps(upload: TimedUpload, run: RawRun): boolean {
  return upload.endedAt - upload.ms < run.startedAt + run.ms && upload.endedAt > run.startedAt;
}

function metricOf(report: BenchReport, name: string, samples: readonly (number | undefined)[], unit: string, better: 'lower' | 'higher', digits = 0): void {
  const values = defined(samples);
  if (values.length === 0) {
    report.note(`${name}: no sample`);
    return;
  }
  report.metric(name, median(values), unit, better);
  report.note(`${name} per round: ${fmt(samples, digits)}`);
}

export function summarize(report: BenchReport, data: RecoveryData): void {
  const { rounds } = data;
  const moved = rounds.filter((r) => r.kind !== 'local' && r.from === 'coordinator' && r.movedTo);
  const local = rounds.filter((r) => r.kind === 'local' && r.from === 'local');
  const odd = rounds.filter((r) => !moved.includes(r) && !local.includes(r));
  metricOf(report, 'detect_ms', rounds.filter((r) => r.kind !== 'crash').map((r) => r.detectMs), 'ms', 'lower');
  metricOf(report, 'detect_ms_crash', rounds.filter((r) => r.kind === 'crash').map((r) => r.detectMs), 'ms', 'lower');
  metricOf(report, 'resume_ms', moved.map((r) => r.resumeMs), 'ms', 'lower');
  report.note(`  (poll saw it: ${fmt(moved.map((r) => r.resumeSeenMs))} ms; from checkpoints ${moved.map((r) => r.seq).join(' ')})`);
  metricOf(report, 'local_resume_ms', local.map((r) => r.loadToResumeMs), 'ms', 'lower');
  metricOf(report, 'local_resume_from_welcome_ms', local.map((r) => r.welcomeToResumeMs), 'ms', 'lower');
  report.note(`  (from the socket's opening: ${fmt(local.map((r) => r.socketToResumeMs))} ms; loss seen → local resume ${fmt(local.map((r) => r.resumeMs))} ms)`);
  metricOf(report, 'redo_fraction', moved.map((r) => r.redo), 'ratio', 'lower', 3);
  report.note(
    `  (kill at ${fmt(moved.map((r) => r.ackToKillMs))} ms after an ack; p_kill − p_ckpt in rounds ${fmt(moved.map((r) => (r.pKill - r.pCkpt) * 1e6))}; ` +
      `after reopening ${fmt(local.map((r) => r.redo), 3)})`,
  );
  for (const r of odd) report.note(`unexpected round (left out): ${JSON.stringify(r)}`);

  const rawRuns = data.raw.runs;
  const rawUploads = data.uploads.get(data.rawPage) ?? [];
  const cleanRuns = rawRuns.filter((run) => !rawUploads.some((u) => overlaps(u, run)));
  const big = [...data.uploads].flatMap(([tab, list]) => list.filter((u) => u.bytes >= data.minUploadBytes).map((u) => ({ tab, u })));
  const alone = big.filter(({ tab, u }) => !(tab === data.rawPage && rawRuns.some((run) => overlaps(u, run)))).map(({ u }) => u);
  const shared = rawUploads.filter((u) => u.bytes >= data.minUploadBytes && rawRuns.some((run) => overlaps(u, run)));
  // Like with like. With gaps between the page's uploads, bare runs made in a gap against uploads that had
  // the link to themselves. Without (an upload takes longer than a checkpoint interval, so the uploader
  // starts the next as soon as one ends), every bare run shares the link with an upload that started with it:
  // then against those uploads, both halves of the same shared link.
  const [uploads, runs] = cleanRuns.length > 0 ? [alone, cleanRuns] : [shared, rawRuns];
  const uploadRate = median(uploads.map((u) => mibPerS(u.bytes, u.ms)));
  const rawRate = median(runs.map((run) => mibPerS(run.bytes, run.ms)));
  report.metric('upload_efficiency', uploadRate / rawRate, 'ratio', 'higher');
  report.metric('upload_mib_s', uploadRate, 'MiB/s', 'higher');
  report.metric('raw_socket_mib_s', rawRate, 'MiB/s', 'higher');
  report.note(
    cleanRuns.length > 0
      ? `${cleanRuns.length} of ${rawRuns.length} bare runs fell in a gap between uploads: compared with the ${alone.length} uploads that had the link alone`
      : `no bare run found the link idle (uploads run back to back): compared with the ${shared.length} uploads sharing the link with them`,
  );
  report.note(`uploads ≥ ${data.minUploadBytes / MiB} MiB alone: MiB/s ${fmt(alone.map((u) => mibPerS(u.bytes, u.ms)), 1)}; sharing with a bare run: ${fmt(shared.map((u) => mibPerS(u.bytes, u.ms)), 1)}`);
  report.note(`  upload ms ${fmt(big.map(({ u }) => u.ms))}; MiB ${fmt(big.map(({ u }) => u.bytes / MiB), 1)} in ${fmt(big.map(({ u }) => u.segments))} segments`);
  report.note(`bare socket.io: ${data.raw.messages} × ${data.raw.messageBytes} B, 4 in flight, MiB/s ${fmt(rawRuns.map((run) => mibPerS(run.bytes, run.ms)), 1)}`);
}
