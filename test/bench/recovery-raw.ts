/**
 * The Node side of recovery-raw.page.ts: its bundle (socket.io-client
 * included, so the page needs no cross-origin script), the plain socket.io
 * server it measures against (acks every message, stores nothing), and the
 * calls into it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Server } from 'socket.io';
import { MAX_SOCKET_MESSAGE_BYTES } from '../../shared/limits.ts';
import type { RawOptions, RawRun, TimedUpload } from './recovery-raw.page.ts';
import type { RawTab } from './recovery-tabs.ts';

/** A bare run of ~64 MiB, on a link that may crawl. */
const RAW_TIMEOUT_MS = 120_000;

export type { RawRun, TimedUpload } from './recovery-raw.page.ts';

export async function bundleRawHarness(): Promise<string> {
  const entry = fileURLToPath(new URL('./recovery-raw.page.ts', import.meta.url));
  const out = await build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', logLevel: 'warning' });
  return out.outputFiles[0]!.text;
}

export interface RawSocketServer {
  readonly url: string;
  close(): Promise<void>;
}

/** A bare socket.io server on port 0 that acks `checkpoint:segment` at once, with the coordinator's message limit. */
export async function startRawSocketServer(): Promise<RawSocketServer> {
  const http = createServer();
  const io = new Server(http, { maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES, serveClient: false, transports: ['websocket'] });
  io.on('connection', (socket) => {
    socket.on('checkpoint:segment', (_payload: unknown, ack: unknown) => {
      if (typeof ack === 'function') ack({ ok: true, value: null });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => void io.close(() => resolve())),
  };
}

const call = <T>(tab: RawTab, expression: string, timeoutMs?: number) => tab.evaluate<T>(`globalThis.recoveryRaw.${expression}`, timeoutMs);

/** Adds the harness to a volunteer tab and starts stamping its uploads. */
export async function installRawHarness(tab: RawTab, script: string): Promise<void> {
  await tab.evaluate(script);
  await call(tab, 'watchUploads()');
}

export function pageUploads(tab: RawTab): Promise<TimedUpload[]> {
  return call(tab, 'uploads()');
}

/** One bare run from the tab (the raw server's url in `options`). */
export function measureRaw(tab: RawTab, options: RawOptions): Promise<RawRun> {
  return call(tab, `raw(${JSON.stringify(options)})`, RAW_TIMEOUT_MS);
}
