/** The central error handler: every failure is `{"error": {"name", "message"}}` with its status. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { GridError } from '../../shared/errors.ts';
import { logger } from '../logger.ts';

const log = logger('http');

/**
 * A request refused before its body was read (no token, too large, no such
 * route) may still be sending it: the answer closes the connection, so neither
 * side waits on that body (hono would drain it for up to 500 ms, holding the
 * connection) and the client's next request goes on a fresh one.
 */
function hasBody(c: Context): boolean {
  const length = c.req.header('content-length');
  return (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
}

export function errorResponse(c: Context, error: unknown): Response {
  if (hasBody(c)) c.header('Connection', 'close');
  if (error instanceof GridError) {
    return c.json({ error: { name: error.name, message: error.message } }, error.status as ContentfulStatusCode);
  }
  log.error(`${c.req.method} ${c.req.path} failed`, error);
  return c.json({ error: { name: 'InternalError', message: 'the coordinator failed to handle this request' } }, 500);
}
