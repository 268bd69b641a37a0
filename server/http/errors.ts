/** The central error handler: every failure is `{"error": {"name", "message"}}` with its status. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { GridError } from '../../shared/errors.ts';
import { logger } from '../logger.ts';

const log = logger('http');

export function errorResponse(c: Context, error: unknown): Response {
  if (error instanceof GridError) {
    return c.json({ error: { name: error.name, message: error.message } }, error.status as ContentfulStatusCode);
  }
  log.error(`${c.req.method} ${c.req.path} failed`, error);
  return c.json({ error: { name: 'InternalError', message: 'the coordinator failed to handle this request' } }, 500);
}
