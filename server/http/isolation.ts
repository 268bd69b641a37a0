/** COOP + COEP + CORP on every response: pages are `crossOriginIsolated`, so SharedArrayBuffer works. */
import type { MiddlewareHandler } from 'hono';

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;

export const isolation: MiddlewareHandler = async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) c.res.headers.set(name, value);
};
