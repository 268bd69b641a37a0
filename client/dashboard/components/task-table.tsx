import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { TaskView, VolunteerView } from '../../../shared/http-api.ts';
import { errorMessage, migrateTask } from '../api.ts';
import { Notice } from './notice.tsx';
import { ProgressBar } from './progress-bar.tsx';
import { StateBadge } from './state-badge.tsx';
import { TaskCheckpoints } from './task-checkpoints.tsx';
import { VerdictBadge } from './verdict-badge.tsx';
import { hasDetail, TaskDetailRow } from './task-detail-row.tsx';

/** Rows shown before "Show more"; jobs may have thousands of tasks. */
const PAGE = 100;
/** Jobs with at most this many tasks show every task's checkpoint chart unasked; larger ones on a click, to keep the page light. */
const AUTO_OPEN_TASKS = 8;
/** The task table's columns, which the detail row spans. */
const COLUMNS = 9;

interface Props {
  jobId: string;
  tasks: TaskView[];
  /** A coupled job's task index is its rank, and the first column says so. */
  coupled: boolean;
  /** The job runs each task as replicas that vote (redundancy > 1): rows are replicas, and say their verdict. */
  replicated?: boolean;
  volunteers: readonly VolunteerView[];
  onChanged: () => void;
}

interface RowProps {
  task: TaskView;
  replicated: boolean;
  volunteerName?: string;
  onMigrate: () => void;
  busy: boolean;
  /** Whether the detail row is open; undefined when the task has nothing to detail. */
  open?: boolean;
  onToggle: () => void;
}

function TaskRow(props: RowProps) {
  const { task, volunteerName, open } = props;
  return (
    <tr data-testid="task-row" data-task-index={task.index} data-task-id={task.id} data-state={task.state} data-replica={task.replica}>
      <td class="num">
        {task.index}
        {props.replicated && (
          <div class="sub" data-testid="task-replica">
            replica {task.replica}
          </div>
        )}
      </td>
      <td>
        <StateBadge state={task.state} testId="task-state" />{' '}
        {task.verdict && <VerdictBadge verdict={task.verdict} />}
      </td>
      <td data-testid="task-volunteer" title={task.volunteer}>
        {task.volunteer ? (volunteerName ?? task.volunteer) : <span class="muted">—</span>}
      </td>
      <td class="cell-progress">
        <ProgressBar value={task.progress} label={`Progress of task ${task.index}`} state={task.state} />
      </td>
      <td class="num" data-testid="task-restarts">
        {task.restarts}
      </td>
      <td class="cell-checkpoints">
        <TaskCheckpoints task={task} />
        {open !== undefined && (
          <button
            type="button"
            class="button button-small button-ghost detail-toggle"
            data-testid="task-detail-toggle"
            aria-expanded={open}
            onClick={props.onToggle}
          >
            {open ? 'Hide chart' : 'Show chart'}
          </button>
        )}
      </td>
      <td class="num" data-testid="task-exit-code">
        {task.exitCode ?? <span class="muted">—</span>}
      </td>
      <td class="mono cell-args" title={task.args.join(' ')}>
        {task.args.join(' ')}
      </td>
      <td>
        {task.state === 'running' && (
          <button
            type="button"
            class="button button-small button-ghost"
            data-testid="task-migrate"
            disabled={props.busy}
            onClick={props.onMigrate}
            title="Checkpoint, halt, and resume on another volunteer"
          >
            Migrate
          </button>
        )}
      </td>
    </tr>
  );
}

/** One row per task of a job: state, where it runs, progress and checkpoints; under it, its checkpoint chart and resumes. */
export function TaskTable({ jobId, tasks, coupled, replicated = false, volunteers, onChanged }: Props) {
  const [shown, setShown] = useState(PAGE);
  const [busy, setBusy] = useState<number | null>(null);
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  // Tasks whose detail row the user opened or closed, against the default.
  const [toggled, setToggled] = useState<ReadonlySet<string>>(new Set());
  const names = new Map(volunteers.map((v) => [v.id, v.name || v.id]));
  const openByDefault = tasks.length <= AUTO_OPEN_TASKS;
  const toggle = (id: string) =>
    setToggled((was) => {
      const next = new Set(was);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  const migrate = async (index: number) => {
    setBusy(index);
    setMessage(null);
    try {
      await migrateTask(jobId, index);
      setMessage({ kind: 'success', text: `Migration of task ${index} requested.` });
      onChanged();
    } catch (error) {
      setMessage({ kind: 'error', text: `Migrate task ${index}: ${errorMessage(error)}` });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div>
      {message && (
        <Notice kind={message.kind} testId="task-action-message">
          {message.text}
        </Notice>
      )}
      <div class="table-wrap">
        <table class="table" id="tasks-table" data-testid="tasks-table">
          <thead>
            <tr>
              <th scope="col" class="num" data-testid="task-index-heading">
                {coupled ? 'Rank' : '#'}
              </th>
              <th scope="col">State</th>
              <th scope="col">Volunteer</th>
              <th scope="col">Progress</th>
              <th scope="col" class="num">Restarts</th>
              <th scope="col">Checkpoints</th>
              <th scope="col" class="num">Exit</th>
              <th scope="col">Args</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tasks.slice(0, shown).map((task) => {
              const open = hasDetail(task) ? openByDefault !== toggled.has(task.id) : undefined;
              return (
                <Fragment key={task.id}>
                  <TaskRow
                    task={task}
                    replicated={replicated}
                    volunteerName={task.volunteer ? names.get(task.volunteer) : undefined}
                    busy={busy !== null}
                    onMigrate={() => void migrate(task.index)}
                    open={open}
                    onToggle={() => toggle(task.id)}
                  />
                  {open && <TaskDetailRow task={task} columns={COLUMNS} />}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
      {tasks.length > shown && (
        <button type="button" class="button button-ghost show-more" onClick={() => setShown((n) => n + PAGE)}>
          Show {Math.min(PAGE, tasks.length - shown)} more of {tasks.length - shown}
        </button>
      )}
    </div>
  );
}
