import { useState } from 'preact/hooks';
import type { JobSummary } from '../../../shared/http-api.ts';
import { listJobs } from '../api.ts';
import type { Changes } from '../changes.ts';
import { useLiveResource } from '../hooks/use-live-resource.ts';
import { jobHref } from '../route.ts';
import { Notice } from './notice.tsx';
import { ProgressBar } from './progress-bar.tsx';
import { StateBadge } from './state-badge.tsx';
import { TimeAgo } from './time-ago.tsx';

/** Rows shown before "Show more"; a long history should not slow the page. */
const PAGE = 50;

const onJobChanges = (changes: Changes) => changes.jobIds.size > 0;

function newestFirst(a: JobSummary, b: JobSummary): number {
  return b.createdAt.localeCompare(a.createdAt);
}

function JobRow({ job }: { job: JobSummary }) {
  const href = jobHref(job.id);
  return (
    <tr class="clickable" data-testid="job-row" data-job-id={job.id} data-state={job.state} onClick={() => (location.hash = href)}>
      <td class="cell-name">
        <a href={href} onClick={(e) => e.stopPropagation()}>
          {job.name}
        </a>
        <div class="sub mono">{job.id}</div>
      </td>
      <td>
        <StateBadge state={job.state} testId="job-state" />
      </td>
      <td class="cell-progress">
        <ProgressBar value={job.progress} label={`Progress of ${job.name}`} state={job.state} />
      </td>
      <td class="num" data-testid="job-tasks">
        {job.tasksDone}/{job.tasksTotal}
      </td>
      <td class="num">{job.priority}</td>
      <td class="nowrap">
        <TimeAgo iso={job.createdAt} />
      </td>
    </tr>
  );
}

/** Every job, newest first, updated live. */
export function JobList() {
  const jobs = useLiveResource('jobs', listJobs, onJobChanges);
  const [shown, setShown] = useState(PAGE);
  const sorted = [...(jobs.data ?? [])].sort(newestFirst);

  return (
    <div>
      {jobs.error && <Notice kind="error">Could not load jobs: {jobs.error}</Notice>}
      {jobs.data && sorted.length === 0 && (
        <p class="empty" data-testid="jobs-empty">
          No jobs yet. Post one with the form.
        </p>
      )}
      {sorted.length > 0 && (
        <div class="table-wrap">
          <table class="table" id="jobs-table" data-testid="jobs-table">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Progress</th>
                <th scope="col" class="num">Tasks</th>
                <th scope="col" class="num">Priority</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {sorted.slice(0, shown).map((job) => (
                <JobRow key={job.id} job={job} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {sorted.length > shown && (
        <button type="button" class="button button-ghost show-more" onClick={() => setShown((n) => n + PAGE)}>
          Show {Math.min(PAGE, sorted.length - shown)} more of {sorted.length - shown}
        </button>
      )}
    </div>
  );
}
