/**
 * Simulated volunteers in a child process (`volunteer-swarm-main.ts`): many
 * ScriptedVolunteers (real socket.io-client, real protocol, one slot each) that
 * finish every task at once with a line of stdout. Each reports how many
 * finishes the coordinator acknowledged and, per task, the time from sending
 * `task:finish` (its slot frees) to receiving its next `task:assign`.
 */
import { setPriority } from 'node:os';
import { Child } from './child.ts';

export type FromSwarm =
  | { type: 'ready'; volunteers: number }
  /** Sent every PROGRESS_MS while it changes. `lastAckAt`: wall-clock ms of the newest finish acknowledgement. */
  | { type: 'progress'; finished: number; lastAckAt: number }
  /** `cpuMs`: the process's CPU time (user + system) so far. */
  | { type: 'report'; finished: number; gapsMs: number[]; errors: string[]; cpuMs: number };
export type ToSwarm = { type: 'report' } | { type: 'close' };

export const PROGRESS_MS = 100;

export interface Swarm {
  readonly label: string;
  finished: number;
  lastAckAt: number;
  report(): Promise<Extract<FromSwarm, { type: 'report' }>>;
  close(): Promise<void>;
}

/**
 * Starts `volunteers` connected volunteers in a new process; resolves once every one has been welcomed.
 * `nice` lowers the process's CPU priority: the volunteers stand in for other machines, so on a small
 * box they should take what the coordinator leaves rather than compete with it as equals.
 */
export async function startSwarm(label: string, url: string, volunteers: number, nice = 0): Promise<Swarm> {
  const child = new Child<FromSwarm, ToSwarm>(label, new URL('./volunteer-swarm-main.ts', import.meta.url), {
    env: { BENCH_URL: url, BENCH_VOLUNTEERS: String(volunteers), BENCH_LABEL: label },
  });
  if (nice !== 0 && child.pid !== undefined) setPriority(child.pid, nice);
  const swarm: Swarm = {
    label,
    finished: 0,
    lastAckAt: 0,
    report: () => child.ask({ type: 'report' }, 'report'),
    close: () => child.close({ type: 'close' }),
  };
  child.on('progress', (p) => {
    swarm.finished = p.finished;
    swarm.lastAckAt = p.lastAckAt;
  });
  try {
    await child.next('ready', 60_000);
  } catch (error) {
    child.kill();
    throw error;
  }
  return swarm;
}
