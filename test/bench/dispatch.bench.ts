/**
 * Dispatch throughput with every state change durable: 200 simulated volunteers
 * (socket.io-client, 4 child processes × 50, one slot each, finishing every task
 * at once with a line of stdout) work through one job of 20,000 tiny tasks on a
 * real coordinator (SQLite, WAL, synchronous=FULL). The coordinator runs in a
 * child process of its own, so the volunteers' work never runs on its event loop
 * (on a 2-core machine they still share the CPUs: see the run-queue note).
 *
 * - `dispatch_tasks_per_s`: tasks / time from posting the job to the last
 *   finish acknowledged (the job is durably `completed` by then: it is written
 *   in the same batch as the last finish, and acks wait for the commit).
 * - `assign_ms_p99`, `assign_ms_p50`: from a volunteer sending `task:finish`
 *   (its slot frees) to receiving its next `task:assign`, client side.
 * - `fsync_per_s`: single-row synchronous SQLite commits a second on the same
 *   disk in the same run (mean of before and after), i.e. what one commit per
 *   state change could do; `dispatch_per_fsync` = the two rates' ratio.
 * - diagnostics: `tasks_per_commit` (group-commit batch size) and
 *   `coordinator_cpu_ms_per_task`; the notes add where the coordinator's wall
 *   time went (on a CPU, waiting for one, blocked in COMMIT).
 *
 * Then it checks the result: every task `completed` with exit 0 and its own
 * stdout through the API, and the same counted in the database file after the
 * coordinator closed.
 *
 * Environment: BENCH_DISPATCH_TASKS (20000), BENCH_DISPATCH_VOLUNTEERS (200),
 * BENCH_DISPATCH_PROCESSES (4), BENCH_VOLUNTEER_NICE (0: the volunteer
 * processes' CPU priority); BENCH_PROFILE=1 profiles the coordinator's CPU over
 * the measured window and prints where the time went.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { ApiClient } from '../helpers/api-client.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';
import { startCoordinatorProcess, statsDelta } from './coordinator-process.ts';
import type { CoordinatorProcess } from './coordinator-process.ts';
import { formatSummary, summarizeProfile } from './cpu-profile.ts';
import { fsyncPerSecond } from './fsync-baseline.ts';
import type { BenchReport } from './report.ts';
import { percentile, wallNow } from './stats.ts';
import { startSwarm } from './volunteer-swarm.ts';
import type { Swarm } from './volunteer-swarm.ts';

/** Give up if no task finishes for this long. */
const STALL_MS = 15_000;
const PROGRESS_EVERY_MS = 2_000;

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: expected a positive integer, got "${raw}"`);
  return value;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the swarms have had `total` finishes acknowledged; returns when the last one was. */
async function allFinished(swarms: Swarm[], total: number, postedAt: number): Promise<number> {
  let last = 0;
  let lastChange = Date.now();
  let lastPrint = Date.now();
  for (;;) {
    const finished = swarms.reduce((n, s) => n + s.finished, 0);
    if (finished >= total) return Math.max(...swarms.map((s) => s.lastAckAt));
    if (finished !== last) {
      last = finished;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > STALL_MS) {
      throw new Error(`stalled: ${finished} of ${total} tasks finished, none in the last ${STALL_MS} ms`);
    }
    if (Date.now() - lastPrint >= PROGRESS_EVERY_MS) {
      lastPrint = Date.now();
      const seconds = (wallNow() - postedAt) / 1000;
      console.log(`  ${finished.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} tasks  ${(finished / seconds).toFixed(0)} tasks/s`);
    }
    await sleep(20);
  }
}

/** Every task completed, exit 0, with its own stdout: through the API while the coordinator runs. */
async function verifyThroughApi(api: ApiClient, jobId: string, total: number): Promise<{ restarts: number }> {
  const job = await api.job(jobId);
  if (job.state !== 'completed') throw new Error(`job ${jobId} is ${job.state}, not completed`);
  if (job.tasks.length !== total || job.tasksDone !== total) {
    throw new Error(`job ${jobId}: ${job.tasks.length} tasks, ${job.tasksDone} done; expected ${total}`);
  }
  const bad = job.tasks.filter((t) => t.state !== 'completed' || t.exitCode !== 0);
  if (bad.length > 0) throw new Error(`${bad.length} tasks not completed with exit 0, e.g. ${JSON.stringify(bad[0])}`);
  const output = await api.output(jobId);
  const wrong = output.tasks.filter((t) => t.stdout !== `task ${t.index}\n` || t.stderr !== '');
  if (output.tasks.length !== total || wrong.length > 0) {
    throw new Error(`${wrong.length} tasks with wrong output, e.g. ${JSON.stringify(wrong[0])}`);
  }
  return { restarts: job.tasks.reduce((n, t) => n + t.restarts, 0) };
}

/** The same, read from the database file itself after the coordinator closed. */
function verifyInDatabase(file: string, jobId: string, total: number): void {
  const db = new Database(file, { readonly: true });
  try {
    const job = db.prepare('SELECT state, tasks_done AS done FROM jobs WHERE id = ?').get(jobId) as { state: string; done: number };
    const states = db.prepare('SELECT state, count(*) AS n FROM tasks WHERE job_id = ? GROUP BY state').all(jobId) as Array<{
      state: string;
      n: number;
    }>;
    const completed = states.find((s) => s.state === 'completed')?.n ?? 0;
    if (job.state !== 'completed' || job.done !== total || completed !== total || states.length !== 1) {
      throw new Error(`in SQLite: job ${job.state} with ${job.done} done; tasks by state ${JSON.stringify(states)}`);
    }
  } finally {
    db.close();
  }
}

export default async function dispatch(report: BenchReport): Promise<void> {
  const total = intFromEnv('BENCH_DISPATCH_TASKS', 20_000);
  const volunteers = intFromEnv('BENCH_DISPATCH_VOLUNTEERS', 200);
  const processes = Math.min(volunteers, intFromEnv('BENCH_DISPATCH_PROCESSES', 4));
  const nice = Number(process.env.BENCH_VOLUNTEER_NICE ?? 0);
  const profile = process.env.BENCH_PROFILE === '1';
  const root = mkdtempSync(join(tmpdir(), 'grid-bench-dispatch-'));
  const token = randomBytes(12).toString('hex');
  let coordinator: CoordinatorProcess | undefined;
  const swarms: Swarm[] = [];
  try {
    const fsyncBefore = fsyncPerSecond(join(root, 'baseline-before.db'));
    console.log(`  baseline: ${fsyncBefore.toFixed(0)} synchronous single-row commits/s`);

    coordinator = await startCoordinatorProcess({ dataDir: join(root, 'data'), token });
    const api = new ApiClient(coordinator.url, token);
    console.log(`  coordinator pid ${coordinator.pid} at ${coordinator.url}; starting ${volunteers} volunteers in ${processes} processes`);
    const url = coordinator.url;
    // Every swarm that starts is closed in `finally`, even if another fails to start.
    const started = await Promise.allSettled(
      Array.from({ length: processes }, async (_, p) => {
        const share = Math.floor(volunteers / processes) + (p < volunteers % processes ? 1 : 0);
        swarms.push(await startSwarm(`swarm-${p}`, url, share, nice));
      }),
    );
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const connected = (await api.volunteers()).filter((v) => v.connected).length;
    if (connected !== volunteers) throw new Error(`${connected} of ${volunteers} volunteers connected`);

    const program = await api.postProgram(emptyCommand(), 'wasm', 'bench-empty');
    const tasks = Array.from({ length: total }, (_, i) => ({ args: [String(i)] }));
    const body = JSON.stringify({ program: program.id, name: 'bench-dispatch', tasks });
    if (profile) await coordinator.startProfile();
    const before = await coordinator.stats();
    const swarmCpuBefore = (await Promise.all(swarms.map((s) => s.report()))).reduce((n, r) => n + r.cpuMs, 0);

    const postedAt = wallNow();
    const response = await api.ok<{ id: string }>('POST', '/api/jobs', body, 201, { 'Content-Type': 'application/json' });
    const postMs = wallNow() - postedAt;
    console.log(`  posted job ${response.id} (${total} tasks, ${(body.length / 1024).toFixed(0)} KiB) in ${postMs.toFixed(0)} ms`);
    const doneAt = await allFinished(swarms, total, postedAt);
    const elapsedMs = doneAt - postedAt;

    const after = await coordinator.stats();
    const profileFile = join(tmpdir(), `grid-bench-dispatch-${process.pid}.cpuprofile`);
    if (profile) await coordinator.stopProfile(profileFile);
    const reports = await Promise.all(swarms.map((s) => s.report()));
    const errors = reports.flatMap((r) => r.errors);
    if (errors.length > 0) throw new Error(`volunteers saw errors: ${errors.slice(0, 5).join('; ')}`);
    const finished = reports.reduce((n, r) => n + r.finished, 0);
    if (finished !== total) throw new Error(`${finished} finishes acknowledged for ${total} tasks`);
    const gaps = reports.flatMap((r) => r.gapsMs);
    const swarmCpuMs = reports.reduce((n, r) => n + r.cpuMs, 0) - swarmCpuBefore;

    const { restarts } = await verifyThroughApi(api, response.id, total);
    await Promise.all(swarms.splice(0).map((s) => s.close()));
    await coordinator.close();
    coordinator = undefined;
    verifyInDatabase(join(root, 'data', 'grid.db'), response.id, total);

    const fsyncAfter = fsyncPerSecond(join(root, 'baseline-after.db'));
    const fsync = (fsyncBefore + fsyncAfter) / 2;
    const rate = (total * 1000) / elapsedMs;
    const d = statsDelta(before, after);

    report.metric('dispatch_tasks_per_s', rate, 'tasks/s', 'higher');
    report.metric('assign_ms_p99', percentile(gaps, 99), 'ms', 'lower');
    report.metric('assign_ms_p50', percentile(gaps, 50), 'ms', 'lower');
    report.metric('fsync_per_s', fsync, 'commits/s', 'higher');
    report.metric('dispatch_per_fsync', rate / fsync, 'ratio', 'higher');
    report.metric('tasks_per_commit', total / d.commits, 'tasks', 'higher');
    report.metric('coordinator_cpu_ms_per_task', d.cpuMs / total, 'ms', 'lower');

    const ms = (v: number) => `${v.toFixed(1)} ms`;
    report.note(`${total} tasks on ${volunteers} volunteers (${processes} processes) in ${ms(elapsedMs)}; POST took ${ms(postMs)}`);
    report.note(
      `finish→assign over ${gaps.length} gaps: p50 ${ms(percentile(gaps, 50))}, p90 ${ms(percentile(gaps, 90))}, ` +
        `p99 ${ms(percentile(gaps, 99))}, max ${ms(percentile(gaps, 100))}`,
    );
    const writesPerTask = d.writes / total;
    report.note(
      `fsync baseline: ${fsyncBefore.toFixed(0)} before, ${fsyncAfter.toFixed(0)} after (commits/s); at ${writesPerTask.toFixed(1)} ` +
        `durable writes a task, one commit per write would cap dispatch near ${(fsync / writesPerTask).toFixed(0)} tasks/s ` +
        `(batching: ${(rate / (fsync / writesPerTask)).toFixed(1)}× that)`,
    );
    const pct = (share: number) => `${(100 * share).toFixed(0)} %`;
    report.note(
      `coordinator: ${d.commits} commits (${(d.commits / (d.wallMs / 1000)).toFixed(0)}/s), ${(d.writes / d.commits).toFixed(1)} writes each; ` +
        `event loop ${pct(d.eventLoopUtilization)} busy`,
    );
    report.note(
      `coordinator main thread: ${pct(d.mainThreadCpuShare)} of wall time on a CPU, ${pct(d.runQueueShare)} waiting for one, ` +
        `${pct(d.commitMs / d.wallMs)} in COMMIT (blocking fsync); process CPU ${pct(d.cpuShare)} of a core`,
    );
    report.note(`volunteer processes: CPU ${((100 * swarmCpuMs) / elapsedMs).toFixed(0)} % of a core in total (nice ${nice})`);
    const overrides = ['BENCH_DISPATCH_TASKS', 'BENCH_DISPATCH_VOLUNTEERS', 'BENCH_DISPATCH_PROCESSES', 'BENCH_VOLUNTEER_NICE'].filter(
      (name) => process.env[name],
    );
    if (overrides.length > 0) report.note(`NOT the standard configuration (${overrides.join(', ')} set): do not compare with other runs`);
    report.note(`verified: all ${total} tasks completed, exit 0, own stdout (API and SQLite); ${restarts} restarts`);
    if (profile) {
      const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
      for (const line of formatSummary(summarizeProfile(profileFile, projectRoot))) report.note(line);
      report.note(`profile kept for Chrome DevTools: ${profileFile}`);
    }
  } finally {
    await Promise.allSettled(swarms.map((s) => s.close()));
    await coordinator?.close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}
