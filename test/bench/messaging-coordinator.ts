/**
 * The coordinator of messaging.bench.ts in its own process, as
 * coordinator-process.ts starts one, plus the coordinator's clock on each
 * coordinated round (messaging-coordinator-main.ts). Times are wall-clock ms
 * (stats.ts `wallNow`), comparable across the processes of one machine.
 */
import { Child } from './child.ts';
import type { CoordinatorStats, FromCoordinator, ToCoordinator } from './coordinator-process.ts';

export interface CoordinatorRound {
  round: number;
  /** The first `round:checkpoint` emitted. */
  openedAt: number;
  entered: number;
  /** The last `round:enter` taken. */
  lastEnterAt: number;
  /** The first `round:release` emitted (after the round's commit), and the last. */
  releasedAt: number;
  releaseDoneAt: number;
}

export type FromRoundClock = { type: 'rounds'; rounds: CoordinatorRound[] };
export type ToRoundClock = { type: 'rounds' };

export interface BenchCoordinator {
  readonly url: string;
  readonly token: string;
  stats(): Promise<CoordinatorStats>;
  /** The rounds seen since the last call (round numbers restart with each job: one job at a time). */
  rounds(): Promise<CoordinatorRound[]>;
  close(): Promise<void>;
}

export async function startBenchCoordinator(dataDir: string, token: string): Promise<BenchCoordinator> {
  const child = new Child<FromCoordinator | FromRoundClock, ToCoordinator | ToRoundClock>('coordinator', new URL('./messaging-coordinator-main.ts', import.meta.url), {
    env: { BENCH_DATA_DIR: dataDir, BENCH_TOKEN: token, GRID_LOG: 'silent' },
  });
  const ready = await child.next('ready');
  return {
    url: ready.url,
    token: ready.token,
    stats: async () => (await child.ask({ type: 'stats' }, 'stats')).stats,
    rounds: async () => (await child.ask({ type: 'rounds' }, 'rounds')).rounds,
    close: () => child.close({ type: 'close' }),
  };
}
