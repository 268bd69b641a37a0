import { useState } from 'preact/hooks';
import { getJobOutput } from '../api.ts';
import type { Changes } from '../changes.ts';
import { useLiveResource } from '../hooks/use-live-resource.ts';
import { Notice } from './notice.tsx';
import { TaskOutputBlock } from './task-output-block.tsx';

/** Blocks shown before "Show more"; each may hold a megabyte. */
const PAGE = 20;
/** Jobs with at most this many tasks show every output unfolded. */
const OPEN_UP_TO = 4;

/** The output of every task of one job; read only while the job page is open. */
export function JobOutputView({ jobId }: { jobId: string }) {
  const output = useLiveResource(
    `output:${jobId}`,
    () => getJobOutput(jobId),
    (changes: Changes) => changes.jobIds.has(jobId),
  );
  const [shown, setShown] = useState(PAGE);
  const tasks = output.data?.tasks ?? [];

  return (
    <div data-testid="job-output">
      {output.error && <Notice kind="error">Could not load the output: {output.error}</Notice>}
      {!output.data && !output.error && <p class="muted">Loading output…</p>}
      {output.data && tasks.length === 0 && <p class="empty">No output yet.</p>}
      {tasks.slice(0, shown).map((task) => (
        <TaskOutputBlock key={task.index} output={task} initiallyOpen={tasks.length <= OPEN_UP_TO} />
      ))}
      {tasks.length > shown && (
        <button type="button" class="button button-ghost show-more" onClick={() => setShown((n) => n + PAGE)}>
          Show {Math.min(PAGE, tasks.length - shown)} more of {tasks.length - shown}
        </button>
      )}
    </div>
  );
}
