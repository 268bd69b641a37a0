import { JobForm } from './job-form.tsx';
import { JobList } from './job-list.tsx';
import { VolunteerCallout } from './volunteer-callout.tsx';
import { VolunteerList } from './volunteer-list.tsx';

/** The overview: donate link, the job form, volunteers and every job. */
export function HomePage() {
  return (
    <main class="container" data-testid="home-page">
      <VolunteerCallout />
      <div class="grid-two">
        <section class="card" aria-labelledby="post-title">
          <h2 id="post-title">Post a job</h2>
          <JobForm />
        </section>
        <section class="card" aria-labelledby="volunteers-title">
          <h2 id="volunteers-title">Volunteers</h2>
          <VolunteerList />
        </section>
      </div>
      <section class="card" aria-labelledby="jobs-title">
        <h2 id="jobs-title">Jobs</h2>
        <JobList />
      </section>
    </main>
  );
}
