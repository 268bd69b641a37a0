/**
 * The `/dashboard` socket.io namespace: the coordinator tells open dashboards
 * what changed (coalesced, at most a few times a second); they re-read it over HTTP.
 * Connecting needs the token in `auth: {token}`.
 */

export interface DashboardToServer {
  /** Nothing yet: the dashboard only listens. */
  ping: (ack: (reply: { ok: true }) => void) => void;
}

export interface ServerToDashboard {
  /** Jobs whose state, progress or tasks changed since the last notice. */
  'jobs:changed': (payload: { ids: string[] }) => void;
  /** Volunteers connected, left, or changed what they run. */
  'volunteers:changed': () => void;
}
