/**
 * The volunteer page: opening it donates compute (API.md "Pages"). Query
 * parameters: `workers` (tasks at once; default cores − 1, at least 1), `name`.
 */
import type { TaskAssignment } from '../../shared/volunteer-protocol.ts';
import { Connection } from './connection.ts';
import type { VolunteerSocket } from './connection.ts';
import { request } from './request.ts';
import { socketCheckpointTransport } from './checkpoint-transport.ts';
import { claimVolunteerId } from './identity.ts';
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
  };
  const redraw = () => {
    state.tasks = host.tasks();
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
  };
  // A refused or lost report leaves the lease to expire: the task then runs again elsewhere.
  const report = (sent: Promise<unknown>) => void sent.catch((error) => console.warn('the coordinator refused a report', error));

  const host: TaskHost = new TaskHost(reporter, socketCheckpointTransport((): VolunteerSocket => connection.socket), redraw);
  const slots = () => (state.paused || !state.isolated ? 0 : state.workers);
  const connection = new Connection(
    { volunteerId: state.volunteerId, name: state.name, cores },
    slots,
    () => host.leases(),
    {
      assigned: (task: TaskAssignment) => {
        if (host.size >= slots()) return false;
        host.start(task);
        return true;
      },
      lost: (leases) => host.stop(leases),
      migrate: (taskId) => void host.migrate(taskId),
      cancelled: (taskId) => {
        const task = host.byTaskId(taskId);
        if (task) host.stop([task.assignment.lease], false);
      },
      changed: redraw,
    },
  );

  root.querySelector('#pause')?.addEventListener('click', () => {
    state.paused = !state.paused;
    if (state.paused) {
      // Until issue 5 preempts through checkpoints, pausing gives the tasks back to run elsewhere from the start.
      for (const task of host.tasks()) reporter.released(task.assignment);
      host.stop(host.leases());
    }
    void connection.setSlots(slots()).catch((error) => console.warn('could not change slots', error));
    redraw();
  });
  addEventListener('pagehide', () => connection.leave());
  setInterval(redraw, 1_000);
  redraw();
}

void main();
