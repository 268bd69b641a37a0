/**
 * A minimal cross-origin-isolated page server for browser tests that need
 * SharedArrayBuffer but not the grid: it serves `/` (an empty page) and the
 * scripts and files a test registers, all with COOP/COEP, on port 0. Tests of
 * runtime parts (the checkpointable driver) use it instead of a volunteer
 * page, so they do not depend on the volunteer bundle.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface IsolatedServer {
  readonly url: string;
  /** Serves `body` at `path` with `type` (replacing what was there). */
  put(path: string, body: string | Uint8Array, type: string): void;
  close(): Promise<void>;
}

export async function startIsolatedServer(): Promise<IsolatedServer> {
  const files = new Map<string, { body: string | Uint8Array; type: string }>([['/', { body: '<!doctype html><title>isolated</title>', type: 'text/html' }]]);
  const server = createServer((request, response) => {
    const file = files.get(new URL(request.url ?? '/', 'http://x').pathname);
    if (!file) {
      response.writeHead(404, ISOLATION).end();
      return;
    }
    response.writeHead(200, { ...ISOLATION, 'Content-Type': file.type, 'Cache-Control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    put: (path, body, type) => void files.set(path, { body, type }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
