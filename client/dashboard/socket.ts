/**
 * The `/dashboard` socket.io connection: it only listens for change notices
 * (shared/dashboard-protocol.ts) and reports its state for the header. While it
 * is down, the dashboard polls instead.
 */
import { io, type Socket } from 'socket.io-client';
import type { DashboardToServer, ServerToDashboard } from '../../shared/dashboard-protocol.ts';
import { noteEverythingChanged, noteJobsChanged, noteVolunteersChanged } from './changes.ts';
import { createStore } from './store.ts';
import { rejectToken, tokenStore } from './token.ts';

/** How often everything is re-read while there are no live notices. */
const POLL_MS = 5_000;

export type ConnectionState = 'connecting' | 'live' | 'offline' | 'no-token';

export const connectionStore = createStore<ConnectionState>('connecting');

type DashboardSocket = Socket<ServerToDashboard, DashboardToServer>;

function connect(token: string): DashboardSocket {
  const socket: DashboardSocket = io('/dashboard', { auth: { token } });
  connectionStore.set('connecting');

  socket.on('connect', () => {
    connectionStore.set('live');
    noteEverythingChanged(); // notices sent while we were away are lost
  });
  socket.on('disconnect', (reason) => {
    connectionStore.set('offline');
    // The server closed us on purpose; socket.io does not retry that by itself.
    if (reason === 'io server disconnect') socket.connect();
  });
  socket.on('connect_error', (error) => {
    // `active` is false when the server refused the handshake (a bad token),
    // true when the network failed and socket.io keeps retrying.
    // https://socket.io/docs/v4/client-socket-instance/#connect_error
    if (socket.active) {
      connectionStore.set('offline');
    } else {
      connectionStore.set('no-token');
      rejectToken(`The coordinator refused this token (${error.message}).`);
    }
  });
  socket.on('jobs:changed', (payload) => {
    if (Array.isArray(payload?.ids)) noteJobsChanged(payload.ids.filter((id) => typeof id === 'string'));
    else noteEverythingChanged();
  });
  socket.on('volunteers:changed', () => noteVolunteersChanged());
  return socket;
}

/**
 * Keeps one socket open for the current token (a new token, a new socket) and
 * polls while it is not live. Returns the function that stops both.
 */
export function startLiveUpdates(): () => void {
  let socket: DashboardSocket | null = null;
  let token: string | null = null;

  const follow = () => {
    const next = tokenStore.get().token;
    if (next === token && socket) return;
    token = next;
    socket?.close();
    socket = null;
    if (token) socket = connect(token);
    else connectionStore.set('no-token');
  };
  follow();
  const unsubscribe = tokenStore.subscribe(follow);

  const poll = setInterval(() => {
    if (connectionStore.get() !== 'live' && document.visibilityState === 'visible') noteEverythingChanged();
  }, POLL_MS);

  return () => {
    unsubscribe();
    clearInterval(poll);
    socket?.close();
    socket = null;
  };
}
