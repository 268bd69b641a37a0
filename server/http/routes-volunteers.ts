/** `/api/volunteers`: every volunteer ever seen, and what the connected ones run. */
import type { Hono } from 'hono';
import type { VolunteerView } from '../../shared/http-api.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Store } from '../store/store.ts';

export function volunteerRoutes(app: Hono, store: Store, scheduler: Scheduler): void {
  app.get('/api/volunteers', (c) => {
    const live = new Map(scheduler.sessions().map((s) => [s.volunteerId, s]));
    const running = new Map<string, string[]>();
    for (const task of store.tasks.inState('running')) {
      if (task.volunteerId) running.set(task.volunteerId, [...(running.get(task.volunteerId) ?? []), task.id]);
    }
    const views: VolunteerView[] = store.volunteers.list().map((v) => {
      const session = live.get(v.id);
      return {
        id: v.id,
        name: session?.name ?? v.name,
        connected: session !== undefined,
        tasks: session ? (running.get(v.id) ?? []) : [],
        cores: session?.cores ?? v.cores,
        slots: session?.slots ?? 0,
        paused: session?.paused ?? false,
        lastSeen: v.lastSeen,
        outvoted: v.outvoted,
      };
    });
    return c.json(views);
  });
}
