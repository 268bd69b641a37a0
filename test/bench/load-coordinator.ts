/**
 * The load benchmark's coordinator side: a real coordinator in its own process
 * with the per-IP connection limit raised (every simulated volunteer comes
 * from 127.0.0.1), a sampler for its peak memory, and the jobs that keep the
 * volunteers busy.
 */
import { readFileSync } from 'node:fs';
import { ApiClient } from '../helpers/api-client.ts';
import { emptyCommand } from '../helpers/tiny-wasm.ts';
import { startCoordinatorProcess } from './coordinator-process.ts';
import type { CoordinatorProcess } from './coordinator-process.ts';

/** Above the benchmark's largest swarm: the limit is per remote address, and all of them share one. */
const CONNECTIONS_PER_IP = 20_000;
/**
 * Tasks per posted job. Posting one job blocks the coordinator's event loop while its tasks are
 * validated and inserted: 50,000 at once stalled it past PING_TIMEOUT_MS here and every volunteer
 * was dropped, so the bench posts smaller jobs with a pause between them.
 */
const TASKS_PER_JOB = 10_000;
const PAUSE_BETWEEN_POSTS_MS = 250;
const RSS_SAMPLE_MS = 250;

export interface LoadCoordinator {
  readonly process: CoordinatorProcess;
  readonly api: ApiClient;
  /** Jobs of `tasks` tiny tasks in all (the empty wasm program: the volunteers never run it), posted in the order given. */
  postTasks(tasks: number, name: string): Promise<string[]>;
  cancel(jobId: string): Promise<void>;
  /** Peak resident memory of the coordinator process so far, bytes: VmHWM on Linux, else the sampled maximum. */
  peakRss(): number;
  close(): Promise<void>;
}

/** VmHWM ("high water mark") from /proc: the true peak RSS, not just what a sample caught. */
function highWaterMark(pid: number | undefined): number {
  try {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib ? Number(kib) * 1024 : 0;
  } catch {
    return 0;
  }
}

export async function startLoadCoordinator(dataDir: string, token: string): Promise<LoadCoordinator> {
  // No background instrumentation of the built-in examples: in production it runs once per data folder
  // (then cached), here every run has a new folder, and binaryen's CPU and memory would count against the load.
  const coordinatorOptions = { maxConnectionsPerIp: CONNECTIONS_PER_IP, instrumentBuiltins: false };
  const process = await startCoordinatorProcess({ dataDir, token, coordinator: coordinatorOptions });
  const api = new ApiClient(process.url, token);
  const program = await api.postProgram(emptyCommand(), 'wasm', 'bench-load-empty');
  let sampledPeak = 0;
  const sampler = setInterval(() => {
    process.stats().then(
      (s) => (sampledPeak = Math.max(sampledPeak, s.rssBytes)),
      () => {},
    );
  }, RSS_SAMPLE_MS);
  return {
    process,
    api,
    async postTasks(total, name) {
      const ids: string[] = [];
      for (let first = 0; first < total; first += TASKS_PER_JOB) {
        const count = Math.min(TASKS_PER_JOB, total - first);
        const tasks = Array.from({ length: count }, (_, i) => ({ args: [String(first + i)] }));
        ids.push((await api.ok<{ id: string }>('POST', '/api/jobs', { program: program.id, name: `${name}-${ids.length}`, tasks }, 201)).id);
        await new Promise((resolve) => setTimeout(resolve, PAUSE_BETWEEN_POSTS_MS));
      }
      return ids;
    },
    async cancel(jobId) {
      const response = await api.call('POST', `/api/jobs/${jobId}/cancel`);
      // 409: the job already completed, nothing left to cancel.
      if (response.status !== 202 && response.status !== 409) throw new Error(`cancel ${jobId}: ${response.status}`);
    },
    peakRss: () => Math.max(sampledPeak, highWaterMark(process.pid)),
    async close() {
      clearInterval(sampler);
      await process.close();
    },
  };
}
