/**
 * Serves the pages and bundles from `public/`. Every response of the coordinator
 * carries the cross-origin isolation headers (isolation.ts), which is what makes
 * SharedArrayBuffer available to the pages.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { Hono } from 'hono';
import { SCRIPT_POLICIES } from './worker-csp.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/** Clean URLs of the pages (API.md "Pages"). */
const PAGES: Record<string, string> = { '/': 'index.html', '/volunteer': 'volunteer.html' };

/** The URL path decoded, or undefined when it is not valid percent-encoding (`/%E0%A4%A`): no such file, not a crash. */
function decodedPath(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

export function serveStatic(app: Hono, publicDir: string): void {
  const root = normalize(publicDir + sep);
  app.get('*', (c, next) => {
    const path = decodedPath(c.req.path);
    if (path === undefined) return next();
    const file = normalize(join(root, PAGES[path] ?? path));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) return next();
    c.header('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    c.header('Cache-Control', 'no-cache');
    const policy = SCRIPT_POLICIES[path];
    if (policy) c.header('Content-Security-Policy', policy);
    return c.body(readFileSync(file));
  });
}
