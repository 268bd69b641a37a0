/**
 * A real coordinator in a child Node process (coordinator-child-main.ts) that
 * a test can kill with SIGKILL, as `kill -9` would, and start again on the
 * same port and data folder: the volunteer pages reconnect to the same URL
 * and the new process recovers from SQLite and the blob folder alone.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { ApiClient } from './api-client.ts';

export type FromCoordinatorChild = { type: 'ready'; url: string };
export type ToCoordinatorChild = { type: 'close' };

/** A cold start (tsx compiling the coordinator, SQLite recovery, a loaded 2-core machine) fits in this. */
const START_TIMEOUT_MS = 30_000;
/** How long a graceful close may take before the process is killed. */
const CLOSE_TIMEOUT_MS = 10_000;

export interface CoordinatorChildOptions {
  dataDir: string;
  token: string;
  /** 0 picks a free port; a restart passes the port of the first start. @default 0 */
  port?: number;
  /** @default 'silent' (errors only) */
  logLevel?: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CoordinatorChild {
  readonly url: string;
  readonly port: number;
  readonly api: ApiClient;
  readonly pid: number | undefined;
  /** Settles when the process has exited, however it did. */
  readonly exited: Promise<Exit>;
  /** SIGKILL: no close, no last commit, no goodbye to anyone. Resolves once the process is gone. */
  kill(): Promise<Exit>;
  /** Asks it to close (commits, closes sockets and the database), killing it if it lingers. */
  stop(): Promise<Exit>;
}

export async function startCoordinatorChild(options: CoordinatorChildOptions): Promise<CoordinatorChild> {
  const child: ChildProcess = fork(new URL('./coordinator-child-main.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      CRASH_DATA_DIR: options.dataDir,
      CRASH_TOKEN: options.token,
      CRASH_PORT: String(options.port ?? 0),
      GRID_LOG: options.logLevel ?? 'silent',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the coordinator did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.on('message', (message: FromCoordinatorChild) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve(message.url);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the coordinator exited while starting (${signal ?? `code ${code}`})`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    api: new ApiClient(url, options.token),
    pid: child.pid,
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.send({ type: 'close' } satisfies ToCoordinatorChild);
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}
