import type { LocalCheckpoint, TaskView } from '../../../shared/http-api.ts';
import { formatBytes } from '../format.ts';
import { TimeAgo } from './time-ago.tsx';

function describe(c: LocalCheckpoint): string {
  return `#${c.seq} · ${c.pages} page${c.pages === 1 ? '' : 's'} · ${formatBytes(c.bytes)} · stop ${c.stopMs.toFixed(2)} ms · saved in ${c.saveMs.toFixed(0)} ms`;
}

/** A task's checkpoint count, its last checkpoint, its volunteer's local checkpoints and where it resumed from. */
export function TaskCheckpoints({ task }: { task: TaskView }) {
  const last = task.lastCheckpoint;
  const resumes = task.resumes ?? [];
  const local = task.localCheckpoints ?? [];
  const newestLocal = local.at(-1);
  return (
    <div data-testid="task-checkpoints" data-checkpoints={task.checkpoints}>
      <span class="num-strong">{task.checkpoints}</span>
      {last && (
        <div class="sub">
          #{last.seq} · {formatBytes(last.bytes)} · <TimeAgo iso={last.at} />
        </div>
      )}
      {newestLocal && (
        <div class="sub" data-testid="task-local-checkpoints" data-count={local.length} title={local.map(describe).join('\n')}>
          local {describe(newestLocal)}
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
