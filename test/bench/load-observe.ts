/**
 * One measured window of the load benchmark: wait out a warm-up, then collect
 * what every swarm process saw in the window (heartbeat round trips, finishes,
 * its own event-loop delay) and what the coordinator did (CPU, event loop,
 * commits), and summarize it.
 */
import type { CoordinatorProcess } from './coordinator-process.ts';
import { statsDelta } from './coordinator-process.ts';
import { mergeWindows } from './load-swarm.ts';
import type { LoadSwarm, WindowReport } from './load-swarm.ts';
import { percentile, wallNow } from './stats.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Observation {
  seconds: number;
  volunteers: WindowReport;
  coordinator: ReturnType<typeof statsDelta>;
  /** Acknowledged finishes a second. */
  tasksPerSecond: number;
  heartbeatP50: number;
  heartbeatP99: number;
  heartbeatMax: number;
  loopDelayP99: number;
  loopDelayMax: number;
}

export async function observe(swarms: LoadSwarm[], coordinator: CoordinatorProcess, warmupMs: number, windowMs: number): Promise<Observation> {
  await sleep(warmupMs);
  const before = await coordinator.stats();
  const from = wallNow();
  await sleep(windowMs);
  const to = wallNow();
  const after = await coordinator.stats();
  // Heartbeats sent near the end may still be in flight: give them one ack timeout's worth of slack at most.
  await sleep(1_000);
  const volunteers = mergeWindows(await Promise.all(swarms.map((s) => s.window(from, to))));
  const seconds = (to - from) / 1000;
  const rtt = volunteers.heartbeatRttMs;
  return {
    seconds,
    volunteers,
    coordinator: statsDelta(before, after),
    tasksPerSecond: volunteers.finished / seconds,
    heartbeatP50: percentile(rtt, 50),
    heartbeatP99: percentile(rtt, 99),
    heartbeatMax: percentile(rtt, 100),
    loopDelayP99: percentile(volunteers.loopDelayMs, 99),
    loopDelayMax: percentile(volunteers.loopDelayMs, 100),
  };
}

/** "no disconnects", or how many for each reason. */
function disconnects(reasons: string[]): string {
  if (reasons.length === 0) return 'no disconnects';
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return `${reasons.length} disconnects (${[...counts].map(([r, n]) => `${n} ${r}`).join(', ')})`;
}

/** One line about a window, for the notes. */
export function describe(label: string, o: Observation, volunteerCount: number): string {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const pct = (share: number) => `${(100 * share).toFixed(0)} %`;
  const v = o.volunteers;
  return (
    `${label}: ${volunteerCount} volunteers, ${o.seconds.toFixed(1)} s: ${o.tasksPerSecond.toFixed(0)} tasks/s; ` +
    `heartbeat rtt p50 ${ms(o.heartbeatP50)} p99 ${ms(o.heartbeatP99)} max ${ms(o.heartbeatMax)} ` +
    `(${v.heartbeatRttMs.length} acks, ${v.heartbeatFailures} failed); ` +
    `swarm loop delay p99 ${ms(o.loopDelayP99)} max ${ms(o.loopDelayMax)}, swarm CPU ${pct(v.cpuMs / 1000 / o.seconds)} of a core; ` +
    `coordinator CPU ${pct(o.coordinator.cpuShare)}, event loop ${pct(o.coordinator.eventLoopUtilization)} busy, ` +
    `waiting for a CPU ${pct(o.coordinator.runQueueShare)}; ${disconnects(v.disconnects)}`
  );
}
