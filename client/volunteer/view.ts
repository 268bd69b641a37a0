/** The volunteer page's view: plain DOM, redrawn on change (a handful of rows). */
import { formatBytes } from '../dashboard/format.ts';
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

function localRow(held: LocalHolding): HTMLElement {
  const row = element(
    'tr',
    {},
    element('td', { className: 'mono', title: held.taskId }, held.taskId),
    element('td', { className: 'num' }, `#${held.seq}`),
    element('td', { className: 'num' }, formatBytes(held.bytes)),
    element('td', { title: new Date(held.at).toLocaleString() }, new Date(held.at).toLocaleTimeString()),
    element(
      'td',
      { className: held.acknowledged ? 'durable' : 'pending' },
      held.acknowledged ? 'here and on the coordinator' : 'only here',
    ),
  );
  row.dataset.taskId = held.taskId;
  row.dataset.seq = String(held.seq);
  row.dataset.acknowledged = String(held.acknowledged);
  return row;
}

/** The checkpoints this tab keeps in its IndexedDB, newest per task; always present, so tests and users find it empty too. */
function localCheckpoints(local: readonly LocalHolding[]): HTMLElement {
  const box = element('div', { id: 'local-checkpoints' });
  box.dataset.count = String(local.length);
  if (local.length === 0) {
    box.append(element('p', { className: 'empty' }, 'No checkpoints kept in this tab.'));
    return box;
  }
  const column = (label: string, className = '') => element('th', { scope: 'col', className }, label);
  const head = element('tr', {}, column('Task'), column('Checkpoint', 'num'), column('Size', 'num'), column('Taken'), column('Kept'));
  const newestFirst = [...local].sort((a, b) => b.at - a.at);
  box.append(element('table', { className: 'local' }, element('thead', {}, head), element('tbody', {}, ...newestFirst.map(localRow))));
  return box;
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
  root.querySelector('#local-checkpoints')?.replaceWith(localCheckpoints(state.local));
  const counts = root.querySelector('#counts');
  if (counts) counts.textContent = `${state.completed} finished · ${state.failed} failed · id ${state.volunteerId}`;
  const pause = root.querySelector<HTMLButtonElement>('#pause');
  if (pause) pause.textContent = state.paused ? 'Resume' : 'Pause';
}
