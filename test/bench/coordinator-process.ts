/**
 * A real coordinator in its own Node process (`coordinator-main.ts`), so that
 * the load a benchmark generates does not run on the coordinator's event loop.
 * It reports counters a benchmark can turn into diagnostics: CPU time, event
 * loop utilisation, and the group commit's batches and time spent committing.
 */
import type { CoordinatorOptions } from '../../server/coordinator.ts';
import { Child } from './child.ts';

/** Cumulative counters of the coordinator process since it started. */
export interface CoordinatorStats {
  /** Wall-clock ms when sampled. */
  at: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Event loop active / idle time (performance.eventLoopUtilization). */
  eluActiveMs: number;
  eluIdleMs: number;
  /** Group-commit batches committed, writes (state changes) in them, and ms spent in COMMIT (the fsync). */
  commits: number;
  writes: number;
  commitMs: number;
  rssBytes: number;
  /** Linux only (else 0), from `/proc/self/schedstat`: the main thread's time on a CPU, and runnable but waiting for one. */
  mainThreadCpuMs: number;
  runQueueMs: number;
}

export type FromCoordinator =
  | { type: 'ready'; url: string; token: string; dataDir: string }
  | { type: 'stats'; stats: CoordinatorStats }
  | { type: 'profiling' }
  | { type: 'profiled'; file: string };
export type ToCoordinator =
  | { type: 'stats' }
  | { type: 'profile:start' }
  | { type: 'profile:stop'; file: string }
  | { type: 'close' };

export interface CoordinatorProcessOptions {
  dataDir: string;
  token: string;
  /** @default 'silent' (errors only) */
  logLevel?: string;
  /** More options for startCoordinator (JSON-serializable), e.g. raised limits. @default {} */
  coordinator?: Omit<CoordinatorOptions, 'port' | 'dataDir' | 'token'>;
}

export interface CoordinatorProcess {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  readonly pid: number | undefined;
  stats(): Promise<CoordinatorStats>;
  /** Starts the V8 CPU profiler in the coordinator's process (node:inspector). */
  startProfile(): Promise<void>;
  /** Stops it and writes the profile (a `.cpuprofile`, as Chrome DevTools reads) to `file`. */
  stopProfile(file: string): Promise<void>;
  close(): Promise<void>;
  /** SIGKILL, for crash benchmarks. */
  kill(): void;
}

export async function startCoordinatorProcess(options: CoordinatorProcessOptions): Promise<CoordinatorProcess> {
  const child = new Child<FromCoordinator, ToCoordinator>('coordinator', new URL('./coordinator-main.ts', import.meta.url), {
    env: {
      BENCH_DATA_DIR: options.dataDir,
      BENCH_TOKEN: options.token,
      GRID_LOG: options.logLevel ?? 'silent',
      BENCH_COORDINATOR_OPTIONS: JSON.stringify(options.coordinator ?? {}),
    },
  });
  const ready = await child.next('ready');
  return {
    url: ready.url,
    token: ready.token,
    dataDir: ready.dataDir,
    pid: child.pid,
    stats: async () => (await child.ask({ type: 'stats' }, 'stats')).stats,
    startProfile: async () => void (await child.ask({ type: 'profile:start' }, 'profiling')),
    stopProfile: async (file) => void (await child.ask({ type: 'profile:stop', file }, 'profiled')),
    close: () => child.close({ type: 'close' }),
    kill: () => child.kill(),
  };
}

/** What happened between two samples, per second of wall time where that is what matters. */
export function statsDelta(before: CoordinatorStats, after: CoordinatorStats) {
  const wallMs = after.at - before.at;
  const cpuMs = after.cpuUserMs - before.cpuUserMs + (after.cpuSystemMs - before.cpuSystemMs);
  const active = after.eluActiveMs - before.eluActiveMs;
  const idle = after.eluIdleMs - before.eluIdleMs;
  return {
    wallMs,
    cpuMs,
    /** CPU time over wall time (1 = one core busy). */
    cpuShare: cpuMs / wallMs,
    eventLoopUtilization: active / (active + idle),
    commits: after.commits - before.commits,
    writes: after.writes - before.writes,
    commitMs: after.commitMs - before.commitMs,
    /** Shares of wall time the coordinator's main thread ran, and waited for a CPU (other processes had it). */
    mainThreadCpuShare: (after.mainThreadCpuMs - before.mainThreadCpuMs) / wallMs,
    runQueueShare: (after.runQueueMs - before.runQueueMs) / wallMs,
  };
}
