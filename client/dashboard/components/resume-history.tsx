import type { ResumeRecord } from '../../../shared/http-api.ts';
import { formatDateTime } from '../format.ts';
import { TimeAgo } from './time-ago.tsx';

const SOURCE: Record<ResumeRecord['from'], string> = {
  local: "the volunteer's own copy",
  coordinator: "the coordinator's copy",
};

/** Every time a task resumed from a checkpoint instead of starting over, oldest first. */
export function ResumeHistory({ resumes }: { resumes: readonly ResumeRecord[] }) {
  return (
    <div class="resume-history" data-testid="task-resume-history" data-count={resumes.length}>
      <h4>Resumes</h4>
      {resumes.length === 0 ? (
        <p class="muted">Never resumed: it ran from its start.</p>
      ) : (
        <ol>
          {resumes.map((r, i) => (
            <li key={i} data-testid="task-resume" data-from={r.from} data-seq={r.seq} title={formatDateTime(r.at)}>
              from checkpoint <strong>#{r.seq}</strong>, {SOURCE[r.from]} · <TimeAgo iso={r.at} />
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
