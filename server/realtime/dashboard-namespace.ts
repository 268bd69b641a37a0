/** The `/dashboard` namespace: token-checked at the handshake; it only listens for change notices. */
import type { Namespace } from 'socket.io';
import type { DashboardToServer, ServerToDashboard } from '../../shared/dashboard-protocol.ts';
import { tokenMatches } from '../http/auth.ts';
import type { ChangeSink } from './change-feed.ts';
import { gateEvents } from './event-gate.ts';

/** What a dashboard may send: it only listens otherwise. */
const DASHBOARD_EVENTS: ReadonlySet<string> = new Set(['ping']);

export function bindDashboardNamespace(
  namespace: Namespace<DashboardToServer, ServerToDashboard>,
  token: string,
  /** Inbound events a second per dashboard. @default MAX_EVENTS_PER_SECOND */
  eventsPerSecond?: number,
): ChangeSink {
  namespace.use((socket, next) => {
    const given: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    if (typeof given === 'string' && tokenMatches(token, given)) next();
    else next(new Error('Unauthorized: connect with auth: { token }'));
  });
  namespace.on('connection', (socket) => {
    gateEvents(socket, { known: DASHBOARD_EVENTS, eventsPerSecond });
    socket.on('ping', (ack: unknown) => {
      if (typeof ack === 'function') (ack as (reply: { ok: true }) => void)({ ok: true });
    });
  });
  return {
    jobs: (ids) => namespace.emit('jobs:changed', { ids }),
    volunteers: () => namespace.emit('volunteers:changed'),
  };
}
