/**
 * The first thing every inbound socket event meets, before any handler
 * (socket.use): the connection's rate (a token bucket) and the namespace's
 * closed set of event names. A refused event with an ack gets a typed error
 * reply (`RateLimited`, or `ValidationError` for an unknown name); without an
 * ack, a `protocol:error` notice (for floods at most one a second, so refusing
 * costs less than sending). A connection that keeps flooding is disconnected.
 *
 * Unknown names stop here, answered: socket.io would otherwise hand them to
 * the socket's own EventEmitter (names like `error` included) and leave an
 * ack waiting for an answer that never comes.
 */
import type { Socket } from 'socket.io';
import { GridError, serializeError } from '../../shared/errors.ts';
import { EVENT_BURST_SECONDS, FLOOD_DISCONNECT_MS, MAX_EVENTS_PER_SECOND } from '../../shared/limits.ts';
import type { Reply } from '../../shared/volunteer-protocol.ts';
import { logger } from '../logger.ts';
import { TokenBucket } from './rate-limit.ts';

const log = logger('realtime');

/** At most one `protocol:error` a second tells a flooding connection without an ack that it is refused. */
const NOTICE_INTERVAL_MS = 1_000;

export interface EventGateOptions {
  /** The event names this namespace handles; every other name is refused. */
  known: ReadonlySet<string>;
  /** Average inbound events a second; Infinity for no limit. @default MAX_EVENTS_PER_SECOND */
  eventsPerSecond?: number;
}

type AnyAck = (reply: Reply<unknown>) => void;

export function gateEvents(socket: Socket, options: EventGateOptions): void {
  const rate = options.eventsPerSecond ?? MAX_EVENTS_PER_SECOND;
  const bucket = Number.isFinite(rate) ? new TokenBucket(rate, Math.max(1, rate * EVENT_BURST_SECONDS)) : undefined;
  let noticedAt = -Infinity;

  const refuse = (name: string, ack: AnyAck | undefined, error: GridError) => {
    const serialized = serializeError(error);
    if (ack) return ack({ ok: false, error: serialized });
    if (error.name === 'RateLimited') {
      const now = performance.now();
      if (now - noticedAt < NOTICE_INTERVAL_MS) return;
      noticedAt = now;
    }
    socket.emit('protocol:error', { event: name, error: serialized });
  };

  // socket.io reports a connection closed for a malformed packet here; without a listener it prints to the console.
  socket.on('error', (error) => log.debug(`socket ${socket.id}: ${error.message}`));
  socket.use((event, next) => {
    const name = String(event[0]);
    const last: unknown = event.at(-1);
    const ack = typeof last === 'function' ? (last as AnyAck) : undefined;
    if (bucket && !bucket.take()) {
      if (bucket.floodingFor() >= FLOOD_DISCONNECT_MS) {
        log.warn(`disconnecting ${socket.handshake.address}: over ${rate} events/s for ${FLOOD_DISCONNECT_MS} ms`);
        socket.disconnect(true);
        return;
      }
      return refuse(name, ack, new GridError('RateLimited', `over ${rate} events a second: slow down (a connection that keeps on is disconnected)`));
    }
    if (typeof event[0] !== 'string' || !options.known.has(event[0])) {
      return refuse(name, ack, new GridError('ValidationError', `unknown event "${name}"`));
    }
    next();
  });
}
