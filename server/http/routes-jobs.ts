/** `/api/jobs`: post jobs, read them and their output, act on them (API.md). */
import type { Hono, MiddlewareHandler } from 'hono';
import { postJobSchema } from '../../shared/http-api.ts';
import { MAX_JSON_BYTES } from '../../shared/limits.ts';
import type { JobService } from '../jobs/job-service.ts';
import { jobOutput, jobSummary, jobView } from '../jobs/job-views.ts';
import type { Store } from '../store/store.ts';
import { jsonBody, limitBody } from './body.ts';

/** Job actions of API.md answered 202 once durable: the work they start goes on after the answer. */
const ACTIONS = ['cancel', 'preempt', 'resume', 'checkpoint'] as const;

export function jobRoutes(app: Hono, store: Store, jobs: JobService, auth: MiddlewareHandler): void {
  app.post('/api/jobs', auth, limitBody(MAX_JSON_BYTES), async (c) => {
    const body = await jsonBody(c, postJobSchema);
    const job = jobs.create(body);
    await store.commit.durable();
    return c.json({ id: job.id }, 201);
  });

  app.get('/api/jobs', (c) => {
    const progress = store.jobs.progress();
    return c.json(store.jobs.list().map((job) => jobSummary(job, progress.get(job.id))));
  });

  app.get('/api/jobs/:id', (c) => {
    const job = jobs.get(c.req.param('id'));
    return c.json(jobView(store, job, store.programs.get(job.programId), jobs.gangWaiting(job.id)));
  });

  app.get('/api/jobs/:id/output', (c) => c.json(jobOutput(store, jobs.get(c.req.param('id')))));

  for (const action of ACTIONS) {
    app.post(`/api/jobs/:id/${action}`, auth, async (c) => {
      jobs[action](c.req.param('id'));
      await store.commit.durable();
      return c.json({ ok: true }, 202);
    });
  }

  // Checkpoint, halt, resume on another volunteer: 202 once the volunteer was asked; the task's `resumes` records the move.
  app.post('/api/jobs/:id/tasks/:index/migrate', auth, (c) => {
    jobs.migrate(c.req.param('id'), c.req.param('index'));
    return c.json({ ok: true }, 202);
  });
}
