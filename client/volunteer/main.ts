/**
 * The volunteer page: opening it donates compute (API.md "Pages"). Query
 * parameters: `workers` (tasks at once; default cores − 1, at least 1), `name`.
 */
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import { Connection } from './connection.ts';
import type { VolunteerSocket } from './connection.ts';
import { request } from './request.ts';
import { socketCheckpointTransport } from './checkpoint-transport.ts';
import { relayTransport } from './rank-transport.ts';
import type { UploadRecord } from './checkpoint-uploader.ts';
import { browserSecret, claimVolunteerId } from './identity.ts';
import { forgetTasks, heldCheckpoints } from './local-checkpoints.ts';
import type { HeldCheckpoint } from './local-checkpoints.ts';
import { TaskHost } from './task-host.ts';
import type { TaskReporter } from './task-host.ts';
import { render } from './view.ts';
import type { VolunteerState } from './view.ts';

function workersFromQuery(params: URLSearchParams, cores: number): number {
  const asked = Number(params.get('workers'));
  if (Number.isInteger(asked) && asked >= 1 && asked <= 64) return asked;
  return Math.max(1, cores - 1);
}

async function main(): Promise<void> {
  const root = document.getElementById('app')!;
  const params = new URLSearchParams(location.search);
  const cores = navigator.hardwareConcurrency || 1;
  const state: VolunteerState = {
    volunteerId: await claimVolunteerId(),
    name: params.get('name')?.slice(0, 100) ?? '',
    connected: false,
    paused: false,
    workers: workersFromQuery(params, cores),
    completed: 0,
    failed: 0,
    tasks: [],
    isolated: globalThis.crossOriginIsolated === true,
    local: [],
  };
  /** Checkpoints in IndexedDB of tasks not running here, as of the last hello (the coordinator may give those back). */
  let stored: HeldCheckpoint[] = [];
  const redraw = () => {
    state.tasks = host.tasks();
    const running = host.holdings();
    // The newest one per task (heldCheckpoints lists each task's newest first).
    const waiting = stored.filter((h, i) => !running.some((r) => r.taskId === h.taskId) && stored.findIndex((o) => o.taskId === h.taskId) === i);
    state.local = [...running, ...waiting.map(({ taskId, seq, bytes, at }) => ({ taskId, seq, bytes, at, acknowledged: true }))];
    state.connected = connection.connected && connection.welcomed;
    render(root, state);
  };

  const reporter: TaskReporter = {
    output: (task, stream, data) => connection.socket.emit('task:output', { taskId: task.taskId, lease: task.lease, stream, data }),
    progress: (task, progress) => connection.socket.emit('task:progress', { taskId: task.taskId, lease: task.lease, progress }),
    finished: (task, outcome) => {
      state.completed += 1;
      const { taskId, lease } = task;
      report(request(connection.socket, 'task:finish', { taskId, lease, exitCode: outcome.exitCode, result: outcome.result }));
    },
    failed: (task, error) => {
      state.failed += 1;
      report(request(connection.socket, 'task:fail', { taskId: task.taskId, lease: task.lease, error }));
    },
    checkpointed: (task, c) => {
      const { taskId, lease } = task;
      const payload = { taskId, lease, seq: c.seq, pages: c.pages, bytes: c.storedBytes, stopMs: c.stopMs, saveMs: c.saveMs };
      report(request(connection.socket, 'task:checkpoint', payload));
    },
    released: ({ taskId, lease }) => report(request(connection.socket, 'task:release', { taskId, lease })),
    uploaded: (record) => {
      stats.uploads.push(record);
      redraw();
    },
  };
  // What this page uploaded, and how long its ranks waited at coordinated checkpoints' barriers (ms), for
  // benchmarks and the curious (devtools): `volunteerStats.uploads`, `volunteerStats.roundWaits()`.
  const stats = { uploads: [] as UploadRecord[], roundWaits: () => host.roundWaits() };
  Object.assign(globalThis, { volunteerStats: stats });
  // A refused or lost report leaves the lease to expire: the task then runs again elsewhere.
  const report = (sent: Promise<unknown>) => void sent.catch((error) => console.warn('the coordinator refused a report', error));

  const socket = (): VolunteerSocket => connection.socket;
  const host: TaskHost = new TaskHost(reporter, socketCheckpointTransport(socket), redraw, relayTransport(socket));
  const slots = () => (state.paused || !state.isolated ? 0 : state.workers);
  const connection = new Connection(
    { volunteerId: state.volunteerId, secret: browserSecret(), name: state.name, cores },
    slots,
    () => host.leases(),
    async () => {
      const here = new Set(host.tasks().map((t) => t.assignment.taskId));
      stored = (await heldCheckpoints()).filter((h) => !here.has(h.taskId));
      return stored.map(({ taskId, seq, digest }) => ({ taskId, seq, digest }));
    },
    {
      assigned: (task: TaskAssignment) => {
        if (host.size >= slots()) return false;
        host.start(task);
        return true;
      },
      lost: (leases) => host.stop(leases),
      halt: (taskId) => void host.halt(taskId),
      checkpointNow: (taskId) => host.checkpointNow(taskId),
      forget: (taskIds) => {
        const here = new Set(host.tasks().map((t) => t.assignment.taskId));
        const gone = taskIds.filter((id) => !here.has(id));
        stored = stored.filter((h) => !gone.includes(h.taskId));
        void forgetTasks(gone).catch((error) => console.warn('could not prune local checkpoints', error));
        redraw();
      },
      cancelled: (taskId, keepCheckpoints) => {
        const task = host.byTaskId(taskId);
        if (task) host.stop([task.assignment.lease], keepCheckpoints);
      },
      delivered: (lease, batch) => host.deliver(lease, batch),
      roundCheckpoint: (taskId, round) => host.roundCheckpoint(taskId, round),
      roundRelease: (taskId) => host.roundRelease(taskId),
      disconnected: () => host.releaseRounds(),
      changed: redraw,
    },
  );

  root.querySelector('#pause')?.addEventListener('click', () => {
    state.paused = !state.paused;
    // Pausing preempts this page's tasks: each halts through a checkpoint the coordinator holds and continues elsewhere.
    if (state.paused) for (const task of host.tasks()) void host.halt(task.assignment.taskId);
    void connection.setSlots(slots()).catch((error) => console.warn('could not change slots', error));
    redraw();
  });
  addEventListener('pagehide', () => connection.leave());
  setInterval(redraw, 1_000);
  redraw();
}

void main();
