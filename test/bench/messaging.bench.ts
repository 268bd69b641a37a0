/**
 * Messages between ranks and coordinated checkpoints (issue 6,
 * `npm run bench -- messaging`), on a real coordinator in a child process of
 * its own (SQLite, synchronous=FULL; messaging-coordinator.ts), so the load
 * the bench generates never runs on its event loop, and which reports its
 * own clock on every round. Three parts, one after the other:
 *
 * 1. Browser (messaging-browser.ts), first, while nothing else loads the
 *    machine: jacobi on 8 real ranks in Chromium tabs, a coordinated
 *    checkpoint every 500 ms, for 15 s after every rank's first checkpoint.
 *    - `barrier_ms_p50`: per round, the smallest gate wait of its ranks (the
 *      last to stop waits for the barrier's exit only); p50 over rounds.
 *    - `coordinated_pause_ms_p99`: a rank's stop (its checkpoint's stopMs)
 *      plus its gate wait, every rank and round; the notes say which part
 *      dominates, and how much of the barrier the coordinator spent.
 * 2. Relay (messaging-relay.ts): 8 simulated ranks (Node socket.io clients)
 *    of a jacobi job that never runs, 1 KiB messages to every other rank,
 *    interleaved runs of bare `rank:send`s (raw), of `encodeFrames` batches
 *    per destination without the endpoint (batched: no log, acks or
 *    resends) and of the full message layer (relay); 1 s warm-up, 5 s
 *    counted, 3 runs each; medians.
 *    - `relay_msgs_per_s`, `batched_msgs_per_s`, `raw_msgs_per_s`.
 *    - `relay_efficiency` (= relay/raw, target ≥ 0.5): against plain
 *      socket.io emits of the same pattern, so batching can lift it above 1.
 *    - `log_overhead_pct` (= (1 − relay/batched) × 100): the throughput lost
 *      to logging and acks against the same transport without them.
 * 3. Barrier at scale (messaging-barrier.ts): 1,000 simulated ranks of one
 *    job, rounds every 300 ms, each answered at once.
 *    - `barrier_ms_p50_1000` (target ≤ 100), `barrier_ms_p99_1000`: last
 *      enter sent → last release received, over 20 rounds (the first of 21
 *      is a warm-up).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../helpers/api-client.ts';
import { pollUntil } from '../helpers/wait-for.ts';
import { statsDelta } from './coordinator-process.ts';
import { measureBarrier } from './messaging-barrier.ts';
import { runBrowserRanks } from './messaging-browser.ts';
import { startBenchCoordinator } from './messaging-coordinator.ts';
import type { BenchCoordinator } from './messaging-coordinator.ts';
import { connectVolunteers, postSimulatedJob } from './messaging-ranks.ts';
import { RelayGroup } from './messaging-relay.ts';
import { browserRounds, pauseBreakdown } from './messaging-summary.ts';
import type { BenchReport } from './report.ts';
import { median, percentile } from './stats.ts';

const BROWSER = { ranks: 8, args: ['256', '100000', '1000'], checkpointIntervalMs: 500, runMs: 15_000 };
const RELAY = { ranks: 8, runs: 3, warmupMs: 1_000, measureMs: 5_000 };
/** Never reached: the relay job must open no rounds. */
const NO_ROUNDS_MS = 86_400_000;
const BARRIER = { ranks: 1_000, intervalMs: 300, rounds: 21, timeoutMs: 90_000 };

type Say = (line: string) => void;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function browserPart(report: BenchReport, coordinator: BenchCoordinator, api: ApiClient, say: Say): Promise<void> {
  await coordinator.rounds();
  const run = await runBrowserRanks(coordinator.url, api, { ...BROWSER, say });
  const rounds = browserRounds(run);
  say(`browser: ${rounds.kept.length} rounds in ${fmt(run.ranMs / 1000)} s; waits/checkpoints per rank ${run.counts.map((c) => `${c.waits}/${c.checkpoints}`).join(' ')}`);
  say(`browser: barrier per round (ms) ${rounds.barrierMs.map((b) => fmt(b)).join(' ')}`);
  if (rounds.kept.length < 5) throw new Error(`only ${rounds.kept.length} coordinated rounds could be told apart in the browser run`);
  report.metric('barrier_ms_p50', median(rounds.barrierMs), 'ms', 'lower');
  report.metric('coordinated_pause_ms_p99', percentile(rounds.pauses.map((p) => p.stopMs + p.waitMs), 99), 'ms', 'lower');
  // The coordinator's share: its last enter taken → its first release emitted (the round's commit between).
  const book = new Map((await coordinator.rounds()).map((r) => [r.round, r]));
  const seen = rounds.seqs.map((seq) => book.get(seq)).filter((r) => r !== undefined && r.entered === BROWSER.ranks && r.releasedAt > 0);
  const inCoordinator = seen.map((r) => r!.releasedAt - r!.lastEnterAt);
  const stopping = seen.map((r) => r!.lastEnterAt - r!.openedAt);
  report.note(`browser: jacobi ${BROWSER.args.join(' ')}, ${BROWSER.ranks} tabs × 1 worker, checkpoint every ${BROWSER.checkpointIntervalMs} ms: ${rounds.kept.length} rounds (the first and ${rounds.dropped} misaligned dropped), ${rounds.pauses.length} pauses; rollbacks ${run.job.rollbacks}, messages ${JSON.stringify(run.job.messages)}`);
  report.note(`browser: ${pauseBreakdown(rounds.pauses)}`);
  report.note(`browser: coordinator's clock over ${seen.length} of those rounds: open → last enter taken median ${fmt(median(stopping))} ms (p99 ${fmt(percentile(stopping, 99))}); last enter → release emitted median ${fmt(median(inCoordinator))} ms (p99 ${fmt(percentile(inCoordinator, 99))}); the rest of the barrier is the volunteers' (page, socket, worker wake-up)`);
  await pollUntil(async () => ((await api.volunteers()).some((v) => v.connected) ? undefined : true), 10_000, 'the tabs to disconnect');
}

async function relayPart(report: BenchReport, coordinator: BenchCoordinator, api: ApiClient, say: Say): Promise<void> {
  const job = await postSimulatedJob(api, await connectVolunteers(coordinator.url, RELAY.ranks, 'relay'), NO_ROUNDS_MS, 'messaging-relay');
  const group = new RelayGroup(job.ranks);
  const raw: number[] = [];
  const batched: number[] = [];
  const relay: number[] = [];
  const before = await coordinator.stats();
  try {
    for (let i = 0; i < RELAY.runs; i++) {
      raw.push(await group.run('raw', RELAY.warmupMs, RELAY.measureMs));
      batched.push(await group.run('batched', RELAY.warmupMs, RELAY.measureMs));
      relay.push(await group.run('relay', RELAY.warmupMs, RELAY.measureMs));
      say(`relay run ${i + 1}: raw ${fmt(raw.at(-1)!, 0)}, batched (no log/acks) ${fmt(batched.at(-1)!, 0)}, relay (message layer) ${fmt(relay.at(-1)!, 0)} msgs/s`);
    }
  } finally {
    group.close();
    await job.close();
  }
  const load = statsDelta(before, await coordinator.stats());
  const stats = group.relayStats();
  const errors = job.ranks.reduce((n, r) => n + r.volunteer.protocolErrors.length, 0);
  report.metric('relay_msgs_per_s', median(relay), 'msgs/s', 'higher');
  report.metric('batched_msgs_per_s', median(batched), 'msgs/s', 'higher');
  report.metric('raw_msgs_per_s', median(raw), 'msgs/s', 'higher');
  report.metric('relay_efficiency', median(relay) / median(raw), 'ratio', 'higher');
  report.metric('log_overhead_pct', (1 - median(relay) / median(batched)) * 100, '%', 'lower');
  const runs = (xs: number[]) => xs.map((r) => fmt(r, 0)).join(', ');
  report.note(`relay: runs raw ${runs(raw)}; batched ${runs(batched)}; relay ${runs(relay)} msgs/s; coordinator CPU ${fmt(load.cpuShare, 2)} cores, event loop ${fmt(load.eventLoopUtilization * 100, 0)}% busy`);
  report.note(
    `relay: msgs per rank:send batch: relay ${fmt(stats.msgsPerBatch.relay)}, batched ${fmt(stats.msgsPerBatch.batched)}, raw 1; ` +
      `relay_efficiency = relay/raw (plain emits), log_overhead_pct = 1 − relay/batched (same batching, no log or acks); ` +
      `resent ${stats.resent}, duplicates ${stats.duplicates}, out of window ${stats.outOfWindow}, protocol errors ${errors}`,
  );
}

async function barrierPart(report: BenchReport, coordinator: BenchCoordinator, api: ApiClient, say: Say): Promise<void> {
  const volunteers = await connectVolunteers(coordinator.url, BARRIER.ranks, 'barrier');
  say(`${volunteers.length} simulated volunteers connected`);
  await coordinator.rounds();
  const measuring = measureBarrier(volunteers, BARRIER.rounds, BARRIER.timeoutMs);
  measuring.catch(() => {}); // awaited below; a failed post must not leave it unhandled
  const job = await postSimulatedJob(api, volunteers, BARRIER.intervalMs, 'messaging-barrier');
  try {
    say(`${BARRIER.ranks}-rank job assigned; rounds every ${BARRIER.intervalMs} ms`);
    const before = await coordinator.stats();
    const { rounds: all, refused } = await measuring;
    const load = statsDelta(before, await coordinator.stats());
    const measured = all.slice(1);
    const barrier = measured.map((r) => r.barrierMs);
    say(`1000 ranks: barrier per round (ms) ${barrier.map((b) => fmt(b)).join(' ')}`);
    report.metric('barrier_ms_p50_1000', median(barrier), 'ms', 'lower');
    report.metric('barrier_ms_p99_1000', percentile(barrier, 99), 'ms', 'lower');
    const book = new Map((await coordinator.rounds()).map((r) => [r.round, r]));
    const parts = measured.flatMap((r) => {
      const c = book.get(r.round);
      return c ? [{ intake: c.lastEnterAt - r.lastEnterAt, commit: c.releasedAt - c.lastEnterAt, emit: c.releaseDoneAt - c.releasedAt, read: r.lastReleaseAt - c.releaseDoneAt }] : [];
    });
    const part = (f: (p: (typeof parts)[number]) => number) => fmt(median(parts.map(f)));
    report.note(
      `1000 ranks: ${measured.length} rounds (+1 warm-up), ${measured.filter((r) => r.aborted).length} aborted, ${refused} enters refused; ` +
        `fan-in here (first ask → last enter sent) median ${fmt(median(measured.map((r) => r.fanInMs)))} ms`,
    );
    report.note(
      `1000 ranks: barrier medians by part: last enter sent → taken by the coordinator ${part((p) => p.intake)} ms, → first release emitted (round commit) ${part((p) => p.commit)} ms, ` +
        `emitting 1000 releases ${part((p) => p.emit)} ms, → last one read here ${part((p) => p.read)} ms; coordinator CPU ${fmt(load.cpuShare, 2)} cores, event loop ${fmt(load.eventLoopUtilization * 100, 0)}% busy, ` +
        `${load.commits} commits taking ${fmt(load.commitMs / Math.max(1, load.commits))} ms each on average`,
    );
  } finally {
    await job.close();
  }
}

export default async function messagingBench(report: BenchReport): Promise<void> {
  const began = Date.now();
  const say: Say = (line) => console.log(`  [${((Date.now() - began) / 1000).toFixed(1)} s] ${line}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'grid-bench-messaging-'));
  const coordinator = await startBenchCoordinator(dataDir, randomBytes(16).toString('hex'));
  const api = new ApiClient(coordinator.url, coordinator.token);
  try {
    await browserPart(report, coordinator, api, say);
    await relayPart(report, coordinator, api, say);
    await barrierPart(report, coordinator, api, say);
    report.note(`bench took ${((Date.now() - began) / 1000).toFixed(0)} s`);
  } finally {
    await coordinator.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
