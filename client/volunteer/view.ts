/** The volunteer page's view: plain DOM, redrawn on change (a handful of rows). */
import type { RunningTask } from './task-host.ts';

export interface VolunteerState {
  volunteerId: string;
  name: string;
  connected: boolean;
  paused: boolean;
  workers: number;
  completed: number;
  failed: number;
  tasks: RunningTask[];
  isolated: boolean;
  /** The checkpoints this page holds in its IndexedDB, newest per task (issue 5). */
  local: LocalHolding[];
}

/** A task's newest checkpoint in this volunteer's IndexedDB. */
export interface LocalHolding {
  taskId: string;
  seq: number;
  /** Bytes its chain stores here. */
  bytes: number;
  /** When it was committed (ms since the epoch). */
  at: number;
  /** The coordinator acknowledged it (it is durable there too). */
  acknowledged: boolean;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function taskRow(task: RunningTask): HTMLElement {
  const { assignment } = task;
  const percent = Math.round(task.progress * 100);
  const bar = element('div', { className: 'bar' }, element('div', { className: 'fill' }));
  (bar.firstChild as HTMLElement).style.width = `${percent}%`;
  const seconds = ((performance.now() - task.startedAt) / 1000).toFixed(0);
  const row = element(
    'li',
    { className: 'task' },
    element('div', { className: 'task-title' }, `${assignment.jobName} · task ${assignment.index}`),
    element('div', { className: 'task-meta' }, `${assignment.program.name} ${assignment.args.join(' ')} · ${seconds}s`),
    bar,
    element('div', { className: 'task-percent' }, `${percent}%`),
  );
  row.dataset.taskId = assignment.taskId;
  return row;
}

export function render(root: HTMLElement, state: VolunteerState): void {
  const status = !state.isolated
    ? 'This page is not cross-origin isolated: it cannot run tasks.'
    : state.connected
      ? state.paused
        ? 'Paused: not taking tasks.'
        : `Computing for the grid with up to ${state.workers} task${state.workers === 1 ? '' : 's'} at once.`
      : 'Connecting to the coordinator…';
  const statusNode = element('p', { className: `status ${state.connected ? 'online' : 'offline'}`, id: 'status' }, status);
  statusNode.dataset.connected = String(state.connected);
  const list = element('ul', { className: 'tasks', id: 'tasks' }, ...state.tasks.map(taskRow));
  const empty = element('p', { className: 'empty' }, state.paused ? 'Nothing runs while paused.' : 'Waiting for work…');
  root.querySelector('#status')?.replaceWith(statusNode);
  root.querySelector('#task-area')?.replaceChildren(state.tasks.length ? list : empty);
  const counts = root.querySelector('#counts');
  if (counts) counts.textContent = `${state.completed} finished · ${state.failed} failed · id ${state.volunteerId}`;
  const pause = root.querySelector<HTMLButtonElement>('#pause');
  if (pause) pause.textContent = state.paused ? 'Resume' : 'Pause';
}
