/**
 * From the browser run's per-rank lists to rounds (messaging.bench.ts). A
 * rank's k-th checkpoint is round k's if every rank took part in every round:
 * then the k-th checkpoints of all ranks have the same seq. Rounds where they
 * do not are dropped, and so is the first: its ranks entered as their
 * programs finished loading (download, instrumentation, compilation), so its
 * waits measure start-up skew, not the barrier. Per round, the last rank to stop waits only for the
 * barrier's exit, so the round's barrier is the smallest gate wait in it; a
 * rank's pause is its stop plus its gate wait.
 */
import type { BrowserRankRun } from './messaging-browser.ts';
import { median, percentile } from './stats.ts';

export interface PauseSample {
  rank: number;
  /** The checkpoint's seq (= the round's index when every rank took part in every round). */
  round: number;
  stopMs: number;
  waitMs: number;
}

export interface BrowserRounds {
  /** Index k of the rounds kept. */
  kept: number[];
  /** Their seqs: the coordinator's round numbers, when every rank took part in every round. */
  seqs: number[];
  /** Rounds after the first whose checkpoints' seqs differ between ranks. */
  dropped: number;
  barrierMs: number[];
  pauses: PauseSample[];
}

export function browserRounds(run: BrowserRankRun): BrowserRounds {
  const common = Math.min(...run.waits.map((w) => w.length));
  const kept: number[] = [];
  for (let k = 1; k < common; k++) if (run.seqs.every((s) => s[k] === run.seqs[0]![k])) kept.push(k);
  return {
    kept,
    seqs: kept.map((k) => run.seqs[0]![k]!),
    dropped: Math.max(0, common - 1 - kept.length),
    barrierMs: kept.map((k) => Math.min(...run.waits.map((w) => w[k]!))),
    pauses: kept.flatMap((k) => run.waits.map((w, rank) => ({ rank, round: run.seqs[0]![k]!, stopMs: run.stops[rank]![k]!, waitMs: w[k]! }))),
  };
}

/** Medians and the p99 sample's parts: which of stop and barrier makes the pause. */
export function pauseBreakdown(pauses: readonly PauseSample[]): string {
  const total = (p: PauseSample) => p.stopMs + p.waitMs;
  const p99 = percentile(pauses.map(total), 99);
  const at = pauses.find((p) => total(p) === p99);
  const fmt = (n: number) => n.toFixed(1);
  return (
    `pause = stop + gate wait: median stop ${fmt(median(pauses.map((p) => p.stopMs)))} ms, median wait ${fmt(median(pauses.map((p) => p.waitMs)))} ms; ` +
    `p99 stop ${fmt(percentile(pauses.map((p) => p.stopMs), 99))} ms, p99 wait ${fmt(percentile(pauses.map((p) => p.waitMs), 99))} ms; ` +
    (at ? `the p99 pause (${fmt(p99)} ms) is rank ${at.rank} round ${at.round}: stop ${fmt(at.stopMs)} + wait ${fmt(at.waitMs)}` : '')
  );
}
