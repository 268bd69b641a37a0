/**
 * Many simulated volunteers in one child process (`load-swarm-main.ts`), for
 * the load benchmark: ScriptedVolunteers (real socket.io-client, real
 * protocol, one slot each) that connect at a set rate, heartbeat every
 * `welcome.heartbeatMs` with their leases, and finish every task they are
 * given (after `taskMs`). The child keeps time-stamped samples, so the parent
 * can ask for any window of wall-clock time afterwards: heartbeat round trips,
 * acknowledged finishes, and the child's own event-loop delay (a late timer in
 * the client inflates the round trips it measures).
 */
import { setPriority } from 'node:os';
import { Child } from './child.ts';

export interface SwarmSettings {
  url: string;
  label: string;
  volunteers: number;
  /** New connections a second from this process. */
  connectPerSecond: number;
  /** How long a volunteer holds a task before finishing it, on average (0: at once; else 0.5–1.5 × this). */
  taskMs: number;
}

/** What happened in one window of wall-clock time, as seen by the volunteers of one process. */
export interface WindowReport {
  /** Round trip of each `heartbeat` sent in the window (ms); one still unanswered counts its age so far. */
  heartbeatRttMs: number[];
  /** Heartbeats sent in the window that got no ack within the request timeout, or an error. */
  heartbeatFailures: number;
  /** `task:finish` acknowledgements received in the window, and since the process started. */
  finished: number;
  finishedSoFar: number;
  /** How late each 50 ms timer of the process fired in the window (ms): its event-loop delay. */
  loopDelayMs: number[];
  /** The reason of each disconnection seen in the window. */
  disconnects: string[];
  /** CPU time (user + system) the process spent in the window, ms. */
  cpuMs: number;
}

export type FromLoadSwarm =
  /** `failed`: why the volunteers that did not get a welcome failed (empty if all did). */
  | { type: 'ready'; connectMs: number[]; rampMs: number; failed: string[] }
  | { type: 'window'; report: WindowReport }
  | { type: 'errors'; errors: string[] };
export type ToLoadSwarm =
  | { type: 'window'; from: number; to: number }
  | { type: 'task-ms'; ms: number }
  | { type: 'errors' }
  | { type: 'close' };

export interface LoadSwarm {
  readonly label: string;
  /** Per volunteer, from creating its socket to its welcome (ms); and from the first socket to the last welcome. */
  readonly connectMs: number[];
  readonly rampMs: number;
  /** Why each volunteer that got no welcome failed (a real page would reconnect; these stay away). */
  readonly failedConnects: string[];
  window(from: number, to: number): Promise<WindowReport>;
  /** Changes how long the volunteers hold the tasks they are given; 0 also finishes the ones held now. */
  setTaskMs(ms: number): void;
  /** The first errors the volunteers saw (finish refused, …). */
  errors(): Promise<string[]>;
  close(): Promise<void>;
}

/** Time the whole ramp of one process may take before the benchmark gives up. */
const RAMP_TIMEOUT_MS = 120_000;

/**
 * Starts a swarm process; resolves once all its volunteers are welcomed. `nice` lowers its CPU
 * priority: the volunteers stand in for other machines, so they should take what the coordinator
 * leaves rather than compete with it as equals.
 */
export async function startLoadSwarm(settings: SwarmSettings, nice: number): Promise<LoadSwarm> {
  const child = new Child<FromLoadSwarm, ToLoadSwarm>(settings.label, new URL('./load-swarm-main.ts', import.meta.url), {
    env: { BENCH_LOAD_SWARM: JSON.stringify(settings) },
  });
  if (nice !== 0 && child.pid !== undefined) setPriority(child.pid, nice);
  try {
    const ready = await child.next('ready', RAMP_TIMEOUT_MS);
    return {
      label: settings.label,
      connectMs: ready.connectMs,
      rampMs: ready.rampMs,
      failedConnects: ready.failed,
      window: async (from, to) => (await child.ask({ type: 'window', from, to }, 'window', 60_000)).report,
      setTaskMs: (ms) => child.send({ type: 'task-ms', ms }),
      errors: async () => (await child.ask({ type: 'errors' }, 'errors')).errors,
      close: () => child.close({ type: 'close' }),
    };
  } catch (error) {
    child.kill();
    throw error;
  }
}

/** Starts `volunteers` spread evenly over `processes` swarms, connecting `connectPerSecond` in total. */
export async function startLoadSwarms(
  url: string,
  name: string,
  volunteers: number,
  processes: number,
  options: { connectPerSecond: number; taskMs: number; nice: number },
): Promise<LoadSwarm[]> {
  const swarms: LoadSwarm[] = [];
  const started = await Promise.allSettled(
    Array.from({ length: processes }, async (_, p) => {
      const share = Math.floor(volunteers / processes) + (p < volunteers % processes ? 1 : 0);
      const settings = {
        url,
        label: `${name}-${p}`,
        volunteers: share,
        connectPerSecond: options.connectPerSecond / processes,
        taskMs: options.taskMs,
      };
      swarms.push(await startLoadSwarm(settings, options.nice));
    }),
  );
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(swarms.map((s) => s.close()));
    throw failed.reason;
  }
  return swarms;
}

/** The processes' window reports as one. */
export function mergeWindows(reports: WindowReport[]): WindowReport {
  return {
    heartbeatRttMs: reports.flatMap((r) => r.heartbeatRttMs),
    heartbeatFailures: reports.reduce((n, r) => n + r.heartbeatFailures, 0),
    finished: reports.reduce((n, r) => n + r.finished, 0),
    finishedSoFar: reports.reduce((n, r) => n + r.finishedSoFar, 0),
    loopDelayMs: reports.flatMap((r) => r.loopDelayMs),
    disconnects: reports.flatMap((r) => r.disconnects),
    cpuMs: reports.reduce((n, r) => n + r.cpuMs, 0),
  };
}
