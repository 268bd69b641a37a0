/**
 * Child process entry: starts a coordinator on port 0 (real SQLite, WAL,
 * synchronous=FULL, as in production) and answers `stats` and `close` from the
 * parent (see coordinator-process.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { startCoordinator } from '../../server/coordinator.ts';
import type { CoordinatorOptions } from '../../server/coordinator.ts';
import { GroupCommit } from '../../server/store/group-commit.ts';
import { parentChannel } from './child.ts';
import type { CoordinatorStats, FromCoordinator, ToCoordinator } from './coordinator-process.ts';

// Count the group commit's batches and time its COMMITs by wrapping the
// prototype's methods: the coordinator's code is left exactly as it runs.
const counters = { commits: 0, writes: 0, commitMs: 0 };
const { write, commit } = GroupCommit.prototype;
GroupCommit.prototype.write = function <T>(this: GroupCommit, fn: () => T): T {
  counters.writes++;
  return write.call(this, fn) as T;
};
GroupCommit.prototype.commit = function (this: GroupCommit): void {
  const start = performance.now();
  commit.call(this);
  counters.commits++;
  counters.commitMs += performance.now() - start;
};

const dataDir = process.env.BENCH_DATA_DIR;
const token = process.env.BENCH_TOKEN;
if (!dataDir || !token) throw new Error('BENCH_DATA_DIR and BENCH_TOKEN must be set');

const extra = JSON.parse(process.env.BENCH_COORDINATOR_OPTIONS ?? '{}') as Partial<CoordinatorOptions>;
const coordinator = await startCoordinator({ ...extra, port: 0, dataDir, token });

/** `/proc/self/schedstat` is "on-CPU ns, run-queue wait ns, timeslices" of the main thread. */
function schedstat(): { mainThreadCpuMs: number; runQueueMs: number } {
  try {
    const [cpu, wait] = readFileSync('/proc/self/schedstat', 'utf8').split(' ').map(Number);
    return { mainThreadCpuMs: (cpu ?? 0) / 1e6, runQueueMs: (wait ?? 0) / 1e6 };
  } catch {
    return { mainThreadCpuMs: 0, runQueueMs: 0 };
  }
}

function stats(): CoordinatorStats {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  return {
    at: performance.timeOrigin + performance.now(),
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    eluActiveMs: elu.active,
    eluIdleMs: elu.idle,
    ...counters,
    rssBytes: process.memoryUsage().rss,
    ...schedstat(),
  };
}

let profiler: Session | undefined;

const parent = parentChannel<ToCoordinator, FromCoordinator>(async (message) => {
  if (message.type === 'stats') parent.send({ type: 'stats', stats: stats() });
  else if (message.type === 'profile:start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    parent.send({ type: 'profiling' });
  } else if (message.type === 'profile:stop') {
    if (!profiler) throw new Error('profile:stop without profile:start');
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    writeFileSync(message.file, JSON.stringify(profile));
    parent.send({ type: 'profiled', file: message.file });
  } else if (message.type === 'close') {
    await coordinator.close();
    process.exit(0);
  }
});
parent.send({ type: 'ready', url: coordinator.url, token: coordinator.token, dataDir: coordinator.dataDir });
