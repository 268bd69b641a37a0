/** Child process entry of a load-benchmark swarm (see load-swarm.ts). */
import { ScriptedVolunteer } from '../helpers/scripted-volunteer.ts';
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import { parentChannel } from './child.ts';
import type { FromLoadSwarm, SwarmSettings, ToLoadSwarm, WindowReport } from './load-swarm.ts';
import { wallNow } from './stats.ts';

const settings = JSON.parse(process.env.BENCH_LOAD_SWARM ?? 'null') as SwarmSettings | null;
if (!settings) throw new Error('BENCH_LOAD_SWARM must be set');

/** Period of the timer whose lateness is the event-loop delay. */
const LOOP_PROBE_MS = 50;
/** Connections are opened in small groups this often, to spread the ramp evenly. */
const RAMP_TICK_MS = 20;
const MAX_ERRORS = 20;
/** A volunteer not welcomed this long after its socket was made counts as a failed connect (and is closed). */
const CONNECT_TIMEOUT_MS = 20_000;

// Time-stamped samples (wall-clock ms), filtered by window when the parent asks.
const heartbeats = { at: [] as number[], rttMs: [] as number[] }; // rttMs NaN: no ack; IN_FLIGHT: not yet
/** A heartbeat still waiting for its ack; a window report counts its age so far (a lower bound of its round trip). */
const IN_FLIGHT = -1;
const finishedAt: number[] = [];
const loop = { at: [] as number[], delayMs: [] as number[], cpuMs: [] as number[] };
const disconnects = { at: [] as number[], reason: [] as string[] };
const errors: string[] = [];
const connectFailures: string[] = [];

function noteError(message: string): void {
  if (errors.length < MAX_ERRORS) errors.push(message);
}

function finish(task: TaskAssignment, volunteer: ScriptedVolunteer): void {
  volunteer.finish(task).then(
    () => finishedAt.push(wallNow()),
    (error: Error) => noteError(`${task.taskId}: ${error.message}`),
  );
}

/** How long a task is held (simulated work); the parent can change it between phases. */
let taskMs = settings.taskMs;

/** Tasks being "worked on", so a change of taskMs applies to them too. */
const working = new Map<TaskAssignment, { volunteer: ScriptedVolunteer; timer: ReturnType<typeof setTimeout> }>();

function run(task: TaskAssignment, volunteer: ScriptedVolunteer): void {
  if (taskMs === 0) return finish(task, volunteer);
  // Spread over 0.5–1.5 × taskMs, as real tasks' times would be, so finishes do not come in waves.
  const timer = setTimeout(() => {
    working.delete(task);
    finish(task, volunteer);
  }, taskMs * (0.5 + Math.random()));
  working.set(task, { volunteer, timer });
}

function setTaskMs(ms: number): void {
  taskMs = ms;
  if (ms > 0) return;
  for (const [task, { volunteer, timer }] of working) {
    clearTimeout(timer);
    finish(task, volunteer);
  }
  working.clear();
}

const volunteers: ScriptedVolunteer[] = [];
const heartbeatTimers: Array<ReturnType<typeof setInterval>> = [];

/** Heartbeats like the real page: every `heartbeatMs`, naming the leases held, timed from send to ack. */
function heartbeat(volunteer: ScriptedVolunteer): void {
  const sentAt = wallNow();
  const leases = [...volunteer.tasks.values()].map((t) => t.lease);
  const sample = heartbeats.at.push(sentAt) - 1;
  heartbeats.rttMs.push(IN_FLIGHT);
  volunteer.request('heartbeat', { leases }).then(
    () => (heartbeats.rttMs[sample] = wallNow() - sentAt),
    () => (heartbeats.rttMs[sample] = Number.NaN),
  );
}

async function connect(index: number): Promise<number> {
  const createdAt = wallNow();
  const volunteer = new ScriptedVolunteer(settings!.url, { name: `${settings!.label}-${index}`, slots: 1, heartbeats: false, onTask: run });
  volunteers.push(volunteer);
  let lastReason = '';
  volunteer.socket.on('disconnect', (reason) => {
    lastReason = reason;
    disconnects.at.push(wallNow());
    disconnects.reason.push(reason);
  });
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no welcome within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    });
    const welcome = await Promise.race([volunteer.start(), timeout]).finally(() => clearTimeout(timer));
    const beating = setInterval(() => heartbeat(volunteer), welcome.heartbeatMs);
    heartbeatTimers.push(beating);
    // A real page would reconnect and say hello again; these stay away, counted as disconnects, not as failed heartbeats.
    volunteer.socket.on('disconnect', () => clearInterval(beating));
    return wallNow() - createdAt;
  } catch (error) {
    connectFailures.push(`${(error as Error).message} (${lastReason || 'no disconnect'})`);
    volunteer.close();
    return Number.NaN;
  }
}

/** Opens the connections at `connectPerSecond`, in groups every RAMP_TICK_MS; resolves with each one's connect time. */
async function ramp(): Promise<number[]> {
  const { volunteers: count, connectPerSecond } = settings!;
  const pending: Array<Promise<number>> = [];
  const start = performance.now();
  while (pending.length < count) {
    const due = Math.min(count, Math.ceil(((performance.now() - start) / 1000) * connectPerSecond) || 1);
    while (pending.length < due) pending.push(connect(pending.length));
    await new Promise((resolve) => setTimeout(resolve, RAMP_TICK_MS));
  }
  return Promise.all(pending);
}

let expected = wallNow() + LOOP_PROBE_MS;
const probe = setInterval(() => {
  const now = wallNow();
  const cpu = process.cpuUsage();
  loop.at.push(now);
  loop.delayMs.push(Math.max(0, now - expected));
  loop.cpuMs.push((cpu.user + cpu.system) / 1000);
  expected = now + LOOP_PROBE_MS;
}, LOOP_PROBE_MS);

function inWindow(at: number[], from: number, to: number): number[] {
  const indexes: number[] = [];
  at.forEach((t, i) => {
    if (t >= from && t < to) indexes.push(i);
  });
  return indexes;
}

function windowReport(from: number, to: number): WindowReport {
  const now = wallNow();
  const beats = inWindow(heartbeats.at, from, to).map((i) => {
    const rtt = heartbeats.rttMs[i]!;
    return rtt === IN_FLIGHT ? now - heartbeats.at[i]! : rtt;
  });
  const ticks = inWindow(loop.at, from, to);
  const cpuMs = ticks.length > 1 ? loop.cpuMs[ticks.at(-1)!]! - loop.cpuMs[ticks[0]!]! : 0;
  return {
    heartbeatRttMs: beats.filter((rtt) => !Number.isNaN(rtt)),
    heartbeatFailures: beats.filter((rtt) => Number.isNaN(rtt)).length,
    finished: inWindow(finishedAt, from, to).length,
    finishedSoFar: finishedAt.length,
    loopDelayMs: ticks.map((i) => loop.delayMs[i]!),
    disconnects: inWindow(disconnects.at, from, to).map((i) => disconnects.reason[i]!),
    cpuMs,
  };
}

const parent = parentChannel<ToLoadSwarm, FromLoadSwarm>((message) => {
  if (message.type === 'window') parent.send({ type: 'window', report: windowReport(message.from, message.to) });
  else if (message.type === 'errors') parent.send({ type: 'errors', errors });
  else if (message.type === 'task-ms') setTaskMs(message.ms);
  else if (message.type === 'close') {
    clearInterval(probe);
    for (const timer of heartbeatTimers) clearInterval(timer);
    for (const v of volunteers) v.close();
    process.exit(0);
  }
});

if (process.env.BENCH_LOAD_DEBUG) {
  setInterval(() => {
    const welcomed = volunteers.filter((v) => v.socket.connected).length;
    console.error(`${settings.label}: ${volunteers.length} created, ${welcomed} connected, ${disconnects.at.length} disconnects (${disconnects.reason.slice(-3).join(', ')}), errors ${errors.slice(-2).join('; ')}`);
  }, 2000).unref();
}
const rampStart = wallNow();
const connectMs = await ramp();
parent.send({ type: 'ready', connectMs: connectMs.filter((ms) => !Number.isNaN(ms)), rampMs: wallNow() - rampStart, failed: connectFailures });
