import type { TaskView } from '../../../shared/http-api.ts';
import { formatBytes, plural } from '../format.ts';
import { CheckpointChart } from './checkpoint-chart.tsx';
import { ResumeHistory } from './resume-history.tsx';
import { TimeAgo } from './time-ago.tsx';

/** What the coordinator holds of a task: the newest checkpoint it could resume it from. */
function Uploaded({ task }: { task: TaskView }) {
  const last = task.lastCheckpoint;
  return (
    <p class="uploaded" data-testid="task-uploaded" data-seq={last?.seq ?? ''} data-count={task.checkpoints}>
      {last ? (
        <>
          Uploaded up to <strong>#{last.seq}</strong> ({formatBytes(last.bytes)}, <TimeAgo iso={last.at} />) ·{' '}
          {plural(task.checkpoints, 'checkpoint')} on the coordinator
        </>
      ) : (
        <span class="muted">Nothing uploaded: only the volunteer holds its checkpoints.</span>
      )}
    </p>
  );
}

/** Does a task have anything for its detail row to show? */
export function hasDetail(task: TaskView): boolean {
  return task.localCheckpoints.length > 0 || task.resumes.length > 0;
}

/** The row under a task: its checkpoints over time, what was uploaded, and where it resumed from. */
export function TaskDetailRow({ task, columns }: { task: TaskView; columns: number }) {
  return (
    <tr class="task-detail" data-testid="task-detail" data-task-id={task.id}>
      <td colSpan={columns}>
        <div class="task-detail-body">
          <div class="task-detail-chart">
            <h4>Checkpoints of task {task.index}</h4>
            {task.localCheckpoints.length > 0 ? (
              <CheckpointChart task={task} />
            ) : (
              <p class="muted">No checkpoint reported by its volunteer.</p>
            )}
            <Uploaded task={task} />
          </div>
          <ResumeHistory resumes={task.resumes} />
        </div>
      </td>
    </tr>
  );
}
