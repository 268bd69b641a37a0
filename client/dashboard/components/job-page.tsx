import { useRef } from 'preact/hooks';
import { getJob, listVolunteers } from '../api.ts';
import type { Changes } from '../changes.ts';
import { useLiveResource } from '../hooks/use-live-resource.ts';
import { HOME_HREF } from '../route.ts';
import { CoupledPanel } from './coupled-panel.tsx';
import { JobActions } from './job-actions.tsx';
import { JobOutputView } from './job-output.tsx';
import { JobSummaryView } from './job-summary.tsx';
import { Notice } from './notice.tsx';
import { TaskTable } from './task-table.tsx';

const onVolunteerChanges = (changes: Changes) => changes.volunteers;

/** One job: its facts and actions, its tasks, and their output. */
export function JobPage({ id }: { id: string }) {
  // A job waiting for slots is re-read when volunteers come and go: its count of free slots is theirs.
  const waiting = useRef(false);
  const job = useLiveResource(
    `job:${id}`,
    () => getJob(id),
    (changes) => changes.jobIds.has(id) || (waiting.current && changes.volunteers),
  );
  waiting.current = job.data?.waitingForSlots !== undefined;
  const volunteers = useLiveResource('volunteers', listVolunteers, onVolunteerChanges);

  return (
    <main class="container" data-testid="job-page" data-job-id={id}>
      <a class="back" href={HOME_HREF}>
        ← All jobs
      </a>
      {job.error && <Notice kind="error" testId="job-error">{job.error}</Notice>}
      {!job.data && !job.error && <p class="muted">Loading job…</p>}
      {job.data && (
        <>
          <section class="card">
            <JobSummaryView job={job.data} />
            {job.data.coupled && <CoupledPanel job={job.data} />}
            <JobActions jobId={id} state={job.data.state} onDone={job.reload} />
          </section>
          <section class="card" aria-labelledby="tasks-title">
            <h2 id="tasks-title">Tasks</h2>
            <TaskTable
              jobId={id}
              tasks={job.data.tasks}
              coupled={job.data.coupled}
              replicated={job.data.redundancy > 1}
              volunteers={volunteers.data ?? []}
              onChanged={job.reload}
            />
          </section>
          <section class="card" aria-labelledby="output-title">
            <h2 id="output-title">Output</h2>
            <JobOutputView jobId={id} />
          </section>
        </>
      )}
    </main>
  );
}
