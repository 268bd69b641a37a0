/**
 * Live socket.io connections per remote address (engine.io's, so every
 * namespace and transport counts once). A handshake over the limit is refused
 * before any socket is made: engine.io answers 403 (polling) or 400 (a
 * WebSocket upgrade) with the message below. The address is the TCP peer's:
 * behind a reverse proxy every volunteer shares the proxy's, so raise the
 * limit there (X-Forwarded-For is not trusted, anyone can write it).
 */
import type { IncomingMessage } from 'node:http';
import { MAX_CONNECTIONS_PER_IP } from '../../shared/limits.ts';

/** A handshake let through counts until its connection opens, or at most this long (a WebSocket upgrade is asynchronous). */
const PENDING_HANDSHAKE_MS = 10_000;

/** What this needs of engine.io's server and sockets. */
interface EngineLike {
  on(event: 'connection', listener: (socket: { request: IncomingMessage; once(event: 'close', listener: () => void): unknown }) => void): unknown;
}

export type AllowRequest = (req: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void;

export function remoteAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

export class ConnectionLimit {
  /** Live connections and handshakes under way, by address. */
  readonly #counts = new Map<string, number>();
  /** Handshakes let through, not yet connections: their address (read while the TCP socket is surely open) and expiry. */
  readonly #pending = new Map<IncomingMessage, { address: string; timer: ReturnType<typeof setTimeout> }>();

  /** @param max connections per address; Infinity for no limit. @default MAX_CONNECTIONS_PER_IP */
  constructor(readonly max: number = MAX_CONNECTIONS_PER_IP) {}

  /** engine.io's `allowRequest`: called for each new connection's handshake (not for its later requests). */
  readonly allowRequest: AllowRequest = (req, callback) => {
    const address = remoteAddress(req);
    const count = this.#counts.get(address) ?? 0;
    if (count >= this.max) {
      return callback(`RateLimited: too many connections from ${address} (at most ${this.max} at once)`, false);
    }
    this.#counts.set(address, count + 1);
    const timer = setTimeout(() => this.#settle(req, false), PENDING_HANDSHAKE_MS);
    timer.unref();
    this.#pending.set(req, { address, timer });
    callback(null, true);
  };

  /** Counts each connection until it closes. */
  attach(engine: EngineLike): void {
    engine.on('connection', (socket) => {
      const address = this.#settle(socket.request, true);
      if (address === undefined) return; // admitted after its pending entry expired: counted no more
      socket.once('close', () => this.#release(address));
    });
  }

  /** Live connections from this address (for tests and diagnostics). */
  count(address: string): number {
    return this.#counts.get(address) ?? 0;
  }

  close(): void {
    for (const { timer } of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
  }

  /** Ends a handshake's pending state: it became a connection (keeps its count) or never did (gives it back). */
  #settle(req: IncomingMessage, connected: boolean): string | undefined {
    const pending = this.#pending.get(req);
    if (pending === undefined) return undefined;
    clearTimeout(pending.timer);
    this.#pending.delete(req);
    if (!connected) this.#release(pending.address);
    return pending.address;
  }

  #release(address: string): void {
    const count = (this.#counts.get(address) ?? 1) - 1;
    if (count > 0) this.#counts.set(address, count);
    else this.#counts.delete(address);
  }
}
