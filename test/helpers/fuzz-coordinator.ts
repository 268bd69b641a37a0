/**
 * The fuzz test's coordinator in its own process, so the fuzzer's work
 * (making payloads, encoding them) does not delay the coordinator's answers
 * it measures, and a crash shows as the process exiting.
 */
import { Child } from '../bench/child.ts';

export interface CoordinatorHealth {
  heapUsed: number;
  crashes: string[];
  /** The coordinator's event-loop delay since the previous sample (node:perf_hooks monitorEventLoopDelay), in ms. */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

export type FromFuzzCoordinator = { type: 'ready'; url: string } | ({ type: 'heap' } & CoordinatorHealth);
export type ToFuzzCoordinator = { type: 'heap' } | { type: 'close' };

export interface FuzzCoordinator {
  readonly url: string;
  /** Heap used after a full GC, every unhandled rejection or uncaught exception so far, its event-loop delay (rejects if the process is gone). */
  health(): Promise<CoordinatorHealth>;
  close(): Promise<void>;
}

export async function startFuzzCoordinator(dataDir: string, token: string): Promise<FuzzCoordinator> {
  const child = new Child<FromFuzzCoordinator, ToFuzzCoordinator>('fuzzed coordinator', new URL('./fuzz-coordinator-main.ts', import.meta.url), {
    env: { FUZZ_DATA_DIR: dataDir, FUZZ_TOKEN: token, GRID_LOG: 'silent' },
    nodeArgs: ['--expose-gc', ...(process.env.FUZZ_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FUZZ_CPU_PROF}`] : [])],
  });
  const { url } = await child.next('ready');
  return {
    url,
    health: async () => {
      const { heapUsed, crashes, loopDelayMaxMs, loopDelayP99Ms } = await child.ask({ type: 'heap' }, 'heap');
      return { heapUsed, crashes, loopDelayMaxMs, loopDelayP99Ms };
    },
    close: () => child.close({ type: 'close' }),
  };
}
