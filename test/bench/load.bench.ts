/**
 * Load: 5,000 simulated volunteers (socket.io-client, 8 child processes × 625,
 * one slot each) connected to one coordinator (its own process; real SQLite,
 * WAL, synchronous=FULL), heartbeating and churning through tiny tasks.
 *
 * The simulated volunteers all come from 127.0.0.1, so the coordinator is
 * started with its per-IP connection limit raised (`maxConnectionsPerIp`,
 * load-coordinator.ts). The per-connection event rate limit is per socket, not
 * per address, and stays at its default: a volunteer here sends a few events a
 * second, far below it.
 *
 * Phases, in one run (the machine is noisy, so the baselines are measured next
 * to the figures they are compared with). "Working" volunteers hold each task
 * 0.5–1.5 × TASK_MS (10 s: simulated work) and then finish it; "saturating"
 * ones finish each task as soon as it is assigned, so the coordinator is the
 * bottleneck (closed loop).
 * 1. baseline: 100 volunteers (2 processes), saturating (8 s window), then
 *    working (8 s window).
 * 2. ramp: 5,000 volunteers connect at 250 a second in all (hello, welcome).
 * 3. idle: heartbeats only (5 s window).
 * 4. steady: tasks are queued and all 5,000 work (20 s window after 6 s).
 * 5. saturated: all 5,000 saturate (15 s window after 3 s).
 *
 * - `heartbeat_ms_p99`: in the steady window, the round trip of every
 *   `heartbeat` (sent every `welcome.heartbeatMs` with the leases held) from
 *   emit to ack, measured in the volunteers' processes. The coordinator acks a
 *   heartbeat once everything written before it is durable, so this includes
 *   waiting for the group commit; it also includes any delay of the client's
 *   own event loop: `swarm_loop_delay_ms_p99` (how late a 50 ms timer fires in
 *   the swarm processes, same window) tells the two apart.
 * - `dispatch_tasks_per_s`: `task:finish` acks received a second in the
 *   saturated window: what dispatch sustains with 5,000 connected.
 * - `coordinator_rss_mb`: the coordinator's peak RSS over the run (VmHWM).
 * - `connect_ms_p99`: socket creation to `welcome`, per volunteer, in the ramp.
 * - `baseline_*` from phase 1 and `*_vs_baseline` ratios; the saturated
 *   window's heartbeat p99 (queueing behind a saturated coordinator) is
 *   `saturated_heartbeat_ms_p99`.
 *
 * On a 2-core machine the coordinator shares the CPUs with the swarms, which are
 * niced (BENCH_VOLUNTEER_NICE, default 10) so the coordinator gets what it
 * asks for: they stand in for other machines. The notes give each side's CPU.
 *
 * Environment: BENCH_LOAD_VOLUNTEERS (5000), BENCH_LOAD_PROCESSES (8),
 * BENCH_LOAD_CONNECT_PER_S (250), BENCH_LOAD_TASK_MS (10000),
 * BENCH_VOLUNTEER_NICE (10); BENCH_LOAD_DEBUG=1 prints each swarm's connection
 * counts every 2 s; BENCH_PROFILE=1 profiles the coordinator's CPU
 * over the idle window and over the steady and saturated ones, and prints
 * where the time went.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSummary, summarizeProfile } from './cpu-profile.ts';
import { startLoadCoordinator } from './load-coordinator.ts';
import type { LoadCoordinator } from './load-coordinator.ts';
import { describe, observe } from './load-observe.ts';
import type { Observation } from './load-observe.ts';
import { startLoadSwarms } from './load-swarm.ts';
import type { LoadSwarm } from './load-swarm.ts';
import type { BenchReport } from './report.ts';
import { percentile } from './stats.ts';

const BASELINE_VOLUNTEERS = 100;
const BASELINE_PROCESSES = 2;
const BASELINE_TASKS = 50_000;
/** Warm-up and window of each phase, ms. */
const PHASES = {
  baselineSaturated: [2_000, 8_000],
  baselineWorking: [6_000, 8_000],
  idle: [1_000, 5_000],
  steady: [6_000, 20_000],
  saturated: [3_000, 15_000],
} as const;
/** Queue this many times the tasks the loaded phases should take, so they never run out. */
const TASK_HEADROOM = 2;
/** And at least this many: the baseline rate is noisy, and 5,000 volunteers may outrun 100. */
const MIN_LOADED_TASKS = 100_000;

function intFromEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}: expected an integer ≥ ${min}, got "${raw}"`);
  return value;
}

async function closeAll(swarms: LoadSwarm[]): Promise<void> {
  await Promise.allSettled(swarms.splice(0).map((s) => s.close()));
}

/** The volunteers must not have run out of work; what else went wrong is reported, not fatal. */
async function check(label: string, o: Observation, posted: number, swarms: LoadSwarm[]): Promise<string[]> {
  if (o.volunteers.finishedSoFar >= posted) throw new Error(`${label}: all ${posted} tasks finished before the window ended`);
  return (await Promise.all(swarms.map((s) => s.errors()))).flat();
}

async function connectedVolunteers(coordinator: LoadCoordinator): Promise<number> {
  return (await coordinator.api.volunteers()).filter((v) => v.connected).length;
}

export default async function load(report: BenchReport): Promise<void> {
  const volunteers = intFromEnv('BENCH_LOAD_VOLUNTEERS', 5_000);
  const processes = Math.min(volunteers, intFromEnv('BENCH_LOAD_PROCESSES', 8));
  const connectPerSecond = intFromEnv('BENCH_LOAD_CONNECT_PER_S', 250);
  const taskMs = intFromEnv('BENCH_LOAD_TASK_MS', 10_000);
  const nice = intFromEnv('BENCH_VOLUNTEER_NICE', 10, 0);
  const profile = process.env.BENCH_PROFILE === '1';
  const root = mkdtempSync(join(tmpdir(), 'grid-bench-load-'));
  const swarmOptions = { connectPerSecond, taskMs, nice };
  let coordinator: LoadCoordinator | undefined;
  const swarms: LoadSwarm[] = [];
  try {
    coordinator = await startLoadCoordinator(join(root, 'data'), randomBytes(12).toString('hex'));
    const { url } = coordinator.process;
    console.log(`  coordinator pid ${coordinator.process.pid} at ${url}`);

    // 1. Baselines: a few volunteers, nothing else connected.
    const baselineJobs = await coordinator.postTasks(BASELINE_TASKS, 'bench-load-baseline');
    swarms.push(...(await startLoadSwarms(url, 'baseline', BASELINE_VOLUNTEERS, BASELINE_PROCESSES, { ...swarmOptions, taskMs: 0 })));
    const baseline = await observe(swarms, coordinator.process, ...PHASES.baselineSaturated);
    console.log(`  ${describe('baseline saturated', baseline, BASELINE_VOLUNTEERS)}`);
    for (const swarm of swarms) swarm.setTaskMs(taskMs);
    const baselineWorking = await observe(swarms, coordinator.process, ...PHASES.baselineWorking);
    console.log(`  ${describe('baseline working', baselineWorking, BASELINE_VOLUNTEERS)}`);
    const baselineErrors = await check('baseline', baselineWorking, BASELINE_TASKS, swarms);
    for (const id of baselineJobs) await coordinator.cancel(id);
    await closeAll(swarms);

    // 2. Ramp.
    console.log(`  connecting ${volunteers} volunteers from ${processes} processes at ${connectPerSecond}/s`);
    swarms.push(...(await startLoadSwarms(url, 'load', volunteers, processes, swarmOptions)));
    const connectMs = swarms.flatMap((s) => s.connectMs);
    const rampMs = Math.max(...swarms.map((s) => s.rampMs));
    const failedConnects = swarms.flatMap((s) => s.failedConnects);
    console.log(`  ${connectMs.length} connected in ${(rampMs / 1000).toFixed(1)} s, ${failedConnects.length} failed`);

    // 3. Idle: heartbeats only.
    if (profile) await coordinator.process.startProfile();
    const idle = await observe(swarms, coordinator.process, ...PHASES.idle);
    const idleProfile = join(tmpdir(), `grid-bench-load-idle-${process.pid}.cpuprofile`);
    if (profile) await coordinator.process.stopProfile(idleProfile);
    console.log(`  ${describe('idle', idle, connectMs.length)}`);

    // 4. Steady: every volunteer works.
    const seconds = (phase: readonly [number, number]) => (phase[0] + phase[1]) / 1000;
    const expected = (volunteers / (taskMs / 1000)) * seconds(PHASES.steady) + baseline.tasksPerSecond * seconds(PHASES.saturated);
    const loadedTasks = Math.max(MIN_LOADED_TASKS, Math.ceil(expected * TASK_HEADROOM));
    await coordinator.postTasks(loadedTasks, 'bench-load');
    const present = await connectedVolunteers(coordinator);
    if (profile) await coordinator.process.startProfile();
    const steady = await observe(swarms, coordinator.process, ...PHASES.steady);
    console.log(`  ${describe('steady', steady, present)}`);

    // 5. Saturated: every volunteer finishes at once.
    for (const swarm of swarms) swarm.setTaskMs(0);
    const saturated = await observe(swarms, coordinator.process, ...PHASES.saturated);
    console.log(`  ${describe('saturated', saturated, present)}`);
    const profileFile = join(tmpdir(), `grid-bench-load-${process.pid}.cpuprofile`);
    if (profile) await coordinator.process.stopProfile(profileFile);
    const errors = await check('loaded', saturated, loadedTasks, swarms);
    await closeAll(swarms);
    const peakRss = coordinator.peakRss();

    const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
    const rssMb = peakRss / 2 ** 20;
    report.metric('volunteers', present, 'volunteers', 'higher');
    report.metric('heartbeat_ms_p99', steady.heartbeatP99, 'ms', 'lower');
    report.metric('dispatch_tasks_per_s', saturated.tasksPerSecond, 'tasks/s', 'higher');
    report.metric('coordinator_rss_mb', rssMb, 'MiB', 'lower');
    report.metric('heartbeat_ms_p50', steady.heartbeatP50, 'ms', 'lower');
    report.metric('steady_tasks_per_s', steady.tasksPerSecond, 'tasks/s', 'higher');
    report.metric('idle_heartbeat_ms_p99', idle.heartbeatP99, 'ms', 'lower');
    report.metric('saturated_heartbeat_ms_p99', saturated.heartbeatP99, 'ms', 'lower');
    report.metric('connect_ms_p99', percentile(connectMs, 99), 'ms', 'lower');
    report.metric('connect_per_s', (connectMs.length * 1000) / rampMs, 'connections/s', 'higher');
    report.metric('connect_failures', failedConnects.length, 'volunteers', 'lower');
    const dropped = [idle, steady, saturated].reduce((n, o) => n + o.volunteers.disconnects.length, 0);
    report.metric('disconnects', dropped, 'volunteers', 'lower');
    report.metric('swarm_loop_delay_ms_p99', steady.loopDelayP99, 'ms', 'lower');
    report.metric('baseline_dispatch_tasks_per_s', baseline.tasksPerSecond, 'tasks/s', 'higher');
    report.metric('baseline_heartbeat_ms_p99', baselineWorking.heartbeatP99, 'ms', 'lower');
    report.metric('dispatch_vs_baseline', ratio(saturated.tasksPerSecond, baseline.tasksPerSecond), 'ratio', 'higher');
    report.metric('heartbeat_p99_vs_baseline', ratio(steady.heartbeatP99, baselineWorking.heartbeatP99), 'ratio', 'lower');

    report.note(describe('baseline saturated', baseline, BASELINE_VOLUNTEERS));
    report.note(describe('baseline working', baselineWorking, BASELINE_VOLUNTEERS));
    report.note(
      `ramp: ${connectMs.length} of ${volunteers} connected in ${(rampMs / 1000).toFixed(1)} s; ` +
        `connect p50 ${percentile(connectMs, 50).toFixed(0)} ms, max ${percentile(connectMs, 100).toFixed(0)} ms; ` +
        `${present} connected when the steady phase began`,
    );
    if (failedConnects.length > 0) report.note(`connects that failed (no reconnection here), e.g.: ${failedConnects.slice(0, 3).join('; ')}`);
    report.note(describe('idle', idle, connectMs.length));
    report.note(describe('steady', steady, present));
    report.note(describe('saturated', saturated, present));
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    report.note(
      `targets: heartbeat_ms_p99 ≤ 250 (${verdict(steady.heartbeatP99 <= 250)}), coordinator_rss_mb ≤ 1024 (${verdict(rssMb <= 1024)})`,
    );
    const overrides = ['BENCH_LOAD_VOLUNTEERS', 'BENCH_LOAD_PROCESSES', 'BENCH_LOAD_CONNECT_PER_S', 'BENCH_LOAD_TASK_MS', 'BENCH_VOLUNTEER_NICE'].filter((n) => process.env[n]);
    if (overrides.length > 0) report.note(`NOT the standard configuration (${overrides.join(', ')} set): do not compare with other runs`);
    const volunteerErrors = [...baselineErrors, ...errors];
    if (volunteerErrors.length > 0) report.note(`volunteers saw errors, e.g.: ${volunteerErrors.slice(0, 3).join('; ')}`);
    if (profile) {
      const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
      for (const [label, file] of [['idle', idleProfile], ['steady + saturated', profileFile]] as const) {
        report.note(`${label}:`);
        for (const line of formatSummary(summarizeProfile(file, projectRoot))) report.note(line);
        report.note(`profile kept for Chrome DevTools: ${file}`);
      }
    }
  } finally {
    await closeAll(swarms);
    await coordinator?.close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}
