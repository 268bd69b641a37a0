/** Mutating routes need `Authorization: Bearer TOKEN` (API.md). */
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { GridError } from '../../shared/errors.ts';

export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    if (!tokenMatches(token, given)) {
      throw new GridError('Unauthorized', 'this route needs the header Authorization: Bearer <token>');
    }
    await next();
  };
}
