/** The coordinator's HTTP side: REST API, pages and bundles, one error format. */
import { Hono } from 'hono';
import { GridError } from '../../shared/errors.ts';
import type { JobService } from '../jobs/job-service.ts';
import type { ProgramService } from '../programs/program-service.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Store } from '../store/store.ts';
import { requireToken } from './auth.ts';
import { errorResponse } from './errors.ts';
import { isolation } from './isolation.ts';
import { jobRoutes } from './routes-jobs.ts';
import { programRoutes } from './routes-programs.ts';
import { volunteerRoutes } from './routes-volunteers.ts';
import { serveStatic } from './static-files.ts';

export interface AppParts {
  token: string;
  publicDir: string;
  store: Store;
  programs: ProgramService;
  jobs: JobService;
  scheduler: Scheduler;
}

export function createApp(parts: AppParts): Hono {
  const app = new Hono();
  const auth = requireToken(parts.token);
  app.use('*', isolation);
  app.onError((error, c) => errorResponse(c, error));
  app.get('/api/health', (c) => c.json({ ok: true }));
  programRoutes(app, parts.store, parts.programs, auth);
  jobRoutes(app, parts.store, parts.jobs, auth);
  volunteerRoutes(app, parts.store, parts.scheduler);
  app.all('/api/*', (c) => {
    throw new GridError('NotFound', `no route ${c.req.method} ${c.req.path}`);
  });
  serveStatic(app, parts.publicDir);
  app.notFound((c) => c.text('Not found', 404));
  return app;
}
