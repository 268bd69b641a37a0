import type { ComponentChildren } from 'preact';
import type { JobView } from '../../../shared/http-api.ts';
import { formatDuration } from '../format.ts';
import { ProgressBar } from './progress-bar.tsx';
import { StateBadge } from './state-badge.tsx';
import { TimeAgo } from './time-ago.tsx';

function shape(job: JobView): string {
  if (job.coupled || job.ranks > 1) return `${job.ranks} coupled ranks`;
  return job.tasksTotal === 1 ? 'one task' : `${job.tasksTotal} independent tasks`;
}

/** The facts of one job: state, program, progress and settings. */
export function JobSummaryView({ job }: { job: JobView }) {
  const facts: [string, ComponentChildren][] = [
    ['Program', <span data-testid="job-program">{job.programName || job.program}</span>],
    ['Shape', shape(job)],
    ['Tasks done', <span data-testid="job-tasks-done">{job.tasksDone}/{job.tasksTotal}</span>],
    ['Priority', job.priority],
    ['Checkpoint every', formatDuration(job.checkpointIntervalMs)],
    ['Page size', `${job.pageSize} B`],
    ['Created', <TimeAgo iso={job.createdAt} />],
  ];
  if (job.finishedAt) facts.push(['Finished', <TimeAgo iso={job.finishedAt} />]);
  if (job.redundancy > 1) facts.push(['Redundancy', `${job.redundancy}×`]);
  if (job.args.length > 0) facts.push(['Arguments', <code>{job.args.join(' ')}</code>]);

  return (
    <div class="job-summary">
      <div class="job-title">
        <h1 data-testid="job-name">{job.name}</h1>
        <StateBadge state={job.state} testId="job-state" />
      </div>
      <p class="sub mono">{job.id}</p>
      <ProgressBar value={job.progress} label="Job progress" state={job.state} large />
      <dl class="facts">
        {facts.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
