import type { TaskView } from '../../../shared/http-api.ts';
import { formatBytes } from '../format.ts';
import { TimeAgo } from './time-ago.tsx';

/** A task's checkpoint count, its last checkpoint and where it resumed from. */
export function TaskCheckpoints({ task }: { task: TaskView }) {
  const last = task.lastCheckpoint;
  const resumes = task.resumes ?? [];
  return (
    <div data-testid="task-checkpoints" data-checkpoints={task.checkpoints}>
      <span class="num-strong">{task.checkpoints}</span>
      {last && (
        <div class="sub">
          #{last.seq} · {formatBytes(last.bytes)} · <TimeAgo iso={last.at} />
        </div>
      )}
      {resumes.length > 0 && (
        <div
          class="sub"
          data-testid="task-resumes"
          title={resumes.map((r) => `from ${r.from} checkpoint #${r.seq} at ${r.at}`).join('\n')}
        >
          resumed {resumes.length}× (last from {resumes[resumes.length - 1]?.from} #{resumes[resumes.length - 1]?.seq})
        </div>
      )}
    </div>
  );
}
