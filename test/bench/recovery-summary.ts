/** recovery.bench.ts's rounds and throughputs turned into its metrics and per-round notes. */
import type { ResumeRecord, TaskView } from '../../shared/http-api.ts';
import type { UploadStep } from './recovery-frames.ts';
import type { RawRun, TimedUpload } from './recovery-raw.ts';
import type { BenchVolunteer } from './recovery-rounds.ts';
import type { BenchReport } from './report.ts';
import { median, percentile } from './stats.ts';

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
  /** p_kill − p_ckpt in the task's rounds. */
  redoRounds: number;
  redo: number | undefined;
  /** The resumed checkpoint's capture (its commit report less its save) → the kill. */
  ckptAgeMs: number | undefined;
  /** How long it took to save (to the volunteer's IndexedDB). */
  saveMs: number | undefined;
  /** Its commit report → the coordinator's ack of its upload. */
  ackLagMs: number | undefined;
  /** Loss seen → the new tab received the assignment. */
  assignMs: number | undefined;
  /** Assignment → the last segment of the chain received (a download from the coordinator). */
  downloadMs: number | undefined;
  downloadBytes: number;
  /** The last segment (or the assignment) → `task:resumed` sent: import, restore, restart, first steps. */
  restartMs: number | undefined;
  /** The new tab's `goto` → the resume (only meaningful for a reopened tab). */
  loadToResumeMs: number;
  welcomeToResumeMs: number | undefined;
  socketToResumeMs: number | undefined;
}

/** When the task's checkpoints were being saved (wall-clock ms), gathered from the views read before each kill. */
export class SaveWindows {
  readonly #byCommit = new Map<string, { from: number; to: number }>();

  add(view: TaskView): void {
    for (const c of view.localCheckpoints) {
      const to = Date.parse(c.at);
      this.#byCommit.set(`${c.seq}@${c.at}`, { from: to - c.saveMs, to });
    }
  }

  list(): { from: number; to: number }[] {
    return [...this.#byCommit.values()];
  }
}

export interface RecoveryData {
  rounds: LossRound[];
  /** Bare socket.io runs, each from a tab while its task ran. */
  raw: { tab: BenchVolunteer; run: RawRun }[];
  /** Every tab's uploads, as last read. */
  uploads: Map<BenchVolunteer, TimedUpload[]>;
  /** Every tab's upload requests and acks, read with its uploads. */
  uploadSteps: Map<BenchVolunteer, UploadStep[]>;
  saves: { from: number; to: number }[];
  /** The coordinator's ms per stored segment (recovery-probe.ts). */
  segmentStoreMs: readonly number[];
  minUploadBytes: number;
}

const MiB = 2 ** 20;
const mibPerS = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const fmt = (values: readonly (number | undefined)[], digits = 0) => values.map((v) => (v === undefined ? '?' : v.toFixed(digits))).join(' ');
const defined = (values: readonly (number | undefined)[]) => values.filter((v): v is number => v !== undefined && Number.isFinite(v));

function overlaps(upload: TimedUpload, run: RawRun): boolean {
  return upload.endedAt - upload.ms < run.startedAt + run.ms && upload.endedAt > run.startedAt;
}

/** The share of [from, to] during which a checkpoint was being saved (the checkpoint worker busy). */
function savingShare(saves: RecoveryData['saves'], from: number, to: number): number {
  const covered = saves.reduce((sum, s) => sum + Math.max(0, Math.min(to, s.to) - Math.max(from, s.from)), 0);
  return Math.min(1, covered / (to - from));
}

/** Where an upload's time went, from its tab's requests and acks: ms before asking what is missing (the chain read), that round trip, the segments (first sent → last acked), the manifests. */
function uploadPhases(u: TimedUpload, steps: readonly UploadStep[]): { prep: number; missing: number; segments: number; manifests: number } | undefined {
  const start = u.endedAt - u.ms;
  const within = steps.filter((s) => s.at >= start && s.at <= u.endedAt);
  const missingSent = within.find((s) => s.step === 'checkpoint:missing' && !s.acked)?.at;
  const missingAcked = within.find((s) => s.step === 'checkpoint:missing' && s.acked)?.at;
  const firstSegment = within.find((s) => s.step === 'checkpoint:segment' && !s.acked)?.at;
  const lastSegment = within.filter((s) => s.step === 'checkpoint:segment' && s.acked).at(-1)?.at;
  if (missingSent === undefined || missingAcked === undefined || firstSegment === undefined || lastSegment === undefined) return undefined;
  return { prep: missingSent - start, missing: missingAcked - missingSent, segments: lastSegment - firstSegment, manifests: u.endedAt - lastSegment };
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
  report.note(
    `  (loss → assigned ${fmt(moved.map((r) => r.assignMs))} ms; download ${fmt(moved.map((r) => r.downloadMs))} ms of ` +
      `${fmt(moved.map((r) => r.downloadBytes / MiB), 1)} MiB; then import + restore + restart → task:resumed ${fmt(moved.map((r) => r.restartMs))} ms)`,
  );
  metricOf(report, 'local_resume_ms', local.map((r) => r.loadToResumeMs), 'ms', 'lower');
  metricOf(report, 'local_resume_from_welcome_ms', local.map((r) => r.welcomeToResumeMs), 'ms', 'lower');
  report.note(
    `  (from the socket's opening: ${fmt(local.map((r) => r.socketToResumeMs))} ms; assignment → task:resumed ${fmt(local.map((r) => r.restartMs))} ms; ` +
      `loss seen → local resume ${fmt(local.map((r) => r.resumeMs))} ms)`,
  );
  metricOf(report, 'redo_fraction', moved.map((r) => r.redo), 'ratio', 'lower', 3);
  report.note(
    `  (kill ${fmt(moved.map((r) => r.ackToKillMs))} ms after an ack seen; p_kill − p_ckpt ${fmt(moved.map((r) => r.redoRounds))} rounds; ` +
      `the resumed checkpoint was ${fmt(moved.map((r) => r.ckptAgeMs))} ms old: ` +
      `saved in ${fmt(moved.map((r) => r.saveMs))} ms, acked ${fmt(moved.map((r) => r.ackLagMs))} ms after its commit; ` +
      `after reopening right after an ack ${fmt(local.map((r) => r.redo), 3)})`,
  );
  for (const r of odd) report.note(`unexpected round (left out): ${JSON.stringify(r)}`);

  const rawOn = (tab: BenchVolunteer) => data.raw.filter((r) => r.tab === tab).map((r) => r.run);
  const overlapped = (tab: BenchVolunteer, u: TimedUpload) => rawOn(tab).some((run) => overlaps(u, run));
  const runs = data.raw.map(({ tab, run }) => ({ run, clean: !(data.uploads.get(tab) ?? []).some((u) => overlaps(u, run)) }));
  const big = [...data.uploads].flatMap(([tab, list]) => list.filter((u) => u.bytes >= data.minUploadBytes).map((u) => ({ u, alone: !overlapped(tab, u) })));
  // Like with like: bare runs that had the link to themselves against uploads that did. Were there none
  // (an upload starting during every bare run), all of both: each then shared the link with the other.
  const clean = runs.filter((r) => r.clean);
  const usedRuns = (clean.length > 0 ? clean : runs).map((r) => r.run);
  const usedUploads = big.filter((b) => clean.length === 0 || b.alone).map((b) => b.u);
  const uploadRate = median(usedUploads.map((u) => mibPerS(u.bytes, u.ms)));
  const rawRate = median(usedRuns.map((run) => mibPerS(run.bytes, run.ms)));
  if (!Number.isFinite(uploadRate / rawRate)) {
    report.note(`upload_efficiency: no sample (${usedUploads.length} uploads, ${usedRuns.length} bare runs)`);
    return;
  }
  report.metric('upload_efficiency', uploadRate / rawRate, 'ratio', 'higher');
  report.metric('upload_mib_s', uploadRate, 'MiB/s', 'higher');
  report.metric('raw_socket_mib_s', rawRate, 'MiB/s', 'higher');
  report.note(`upload_mib_s per upload ≥ ${data.minUploadBytes / MiB} MiB: ${fmt(usedUploads.map((u) => mibPerS(u.bytes, u.ms)), 1)} (${usedUploads.length} of ${big.length}; ${fmt(usedUploads.map((u) => u.ms))} ms)`);
  report.note(`raw_socket_mib_s per run: ${fmt(runs.map((r) => mibPerS(r.run.bytes, r.run.ms)), 1)} (${clean.length} of ${runs.length} had the link alone${clean.length === 0 ? '; none did, so all of both are compared' : ', those are compared'})`);
  const phases = [...data.uploads].flatMap(([tab, list]) =>
    list.filter((u) => usedUploads.includes(u)).map((u) => ({ u, p: uploadPhases(u, data.uploadSteps.get(tab) ?? []) })),
  );
  const timed = phases.filter((x): x is { u: TimedUpload; p: NonNullable<typeof x.p> } => x.p !== undefined);
  if (timed.length > 0) {
    const med = (pick: (p: (typeof timed)[number]['p']) => number) => median(timed.map((x) => pick(x.p))).toFixed(0);
    report.note(
      `  an upload's ms (medians of ${timed.length}): chain read ${med((p) => p.prep)}, missing? ${med((p) => p.missing)}, ` +
        `segments ${med((p) => p.segments)} (${median(timed.map((x) => mibPerS(x.u.bytes, x.p.segments))).toFixed(1)} MiB/s), manifests ${med((p) => p.manifests)}; ` +
        `the coordinator stores a segment in ${median(data.segmentStoreMs).toFixed(1)} ms (p90 ${percentile(data.segmentStoreMs, 90).toFixed(1)})`,
    );
  }
  const share = (from: number, ms: number) => savingShare(data.saves, from, from + ms) * 100;
  report.note(
    `  time under a checkpoint save: uploads ${fmt(usedUploads.map((u) => share(u.endedAt - u.ms, u.ms)))} %, ` +
      `bare runs ${fmt(usedRuns.map((run) => share(run.startedAt, run.ms)))} %`,
  );
  const shape = big[0]?.u;
  if (shape) report.note(`  an upload: ${(shape.bytes / MiB).toFixed(1)} MiB in ${shape.segments} segments; bare runs the same, 4 in flight, each acked`);
}
