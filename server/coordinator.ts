/**
 * Wires the coordinator together: store, programs, scheduler, HTTP and
 * socket.io on one port. `main.ts` starts it from the environment; tests start
 * it on port 0 with a temp data folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import { Server } from 'socket.io';
import type { Namespace } from 'socket.io';
import type { DashboardToServer, ServerToDashboard } from '../shared/dashboard-protocol.ts';
import { MAX_SOCKET_MESSAGE_BYTES, PING_INTERVAL_MS, PING_TIMEOUT_MS } from '../shared/limits.ts';
import type { ServerToVolunteer, VolunteerToServer } from '../shared/volunteer-protocol.ts';
import { createApp } from './http/app.ts';
import { ConnectionLimit } from './http/connection-limit.ts';
import { JobService } from './jobs/job-service.ts';
import { limitFromEnv } from './limits-from-env.ts';
import { registerBuiltins } from './programs/builtins.ts';
import { ProgramService } from './programs/program-service.ts';
import { ChangeFeed } from './realtime/change-feed.ts';
import { bindDashboardNamespace } from './realtime/dashboard-namespace.ts';
import { depthLimitedParser } from './realtime/depth-limited-parser.ts';
import { bindVolunteerNamespace } from './realtime/volunteer-namespace.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { CheckpointGc, checkpointGraceFromEnv } from './checkpoints/checkpoint-gc.ts';
import { CheckpointService } from './checkpoints/checkpoint-service.ts';
import { CoordinatorCompaction } from './checkpoints/coordinator-compaction.ts';
import { fileBlobStore } from './store/blob-store.ts';
import { openSqliteStore } from './store/sqlite-store.ts';

export interface CoordinatorOptions {
  /** @default 8080; 0 picks a free port */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Where the database, blobs and generated token live. @default './data' */
  dataDir?: string;
  /** Bearer token for mutating routes and dashboards; generated and saved in the data folder if absent. */
  token?: string;
  /** The package root (examples/, public/, dist/). @default found from this file */
  rootDir?: string;
  /**
   * Instrument the built-in wasm examples in the background once listening
   * (cached: only a data folder's first start pays). Otherwise each is
   * instrumented at its first download. @default true
   */
  instrumentBuiltins?: boolean;
  /** How long a blob no checkpoint, program or instrumented module names is kept after its last write or use. @default 10 minutes */
  blobGraceMs?: number;
  /** How long a finished job's checkpoints are kept. @default GRID_CHECKPOINT_GRACE_MS, else 10 minutes */
  checkpointGraceMs?: number;
  /** Time between storage sweeps (there is one at start-up too). @default 1 minute */
  sweepIntervalMs?: number;
  /**
   * Live socket.io connections one remote address may hold; the next handshake
   * is refused. Infinity for no limit (a load test's thousands from 127.0.0.1).
   * @default GRID_MAX_CONNECTIONS_PER_IP if set, else MAX_CONNECTIONS_PER_IP (256)
   */
  maxConnectionsPerIp?: number;
  /**
   * Average inbound events a second per socket (a token bucket of twice that);
   * over it events get `RateLimited`, and a connection that keeps flooding is
   * disconnected. Infinity for no limit.
   * @default GRID_MAX_EVENTS_PER_SECOND if set, else MAX_EVENTS_PER_SECOND (10,000)
   */
  maxEventsPerSecond?: number;
  /** Most bytes one uploaded checkpoint may add, and one lease may upload ahead of its manifest. @default MAX_CHECKPOINT_BYTES (1 GiB + 1 segment) */
  maxCheckpointBytes?: number;
}

export interface Coordinator {
  readonly url: string;
  readonly token: string;
  readonly dataDir: string;
  readonly builtins: string[];
  /** How many times this process instrumented each program (cache misses), by program id: for tests and diagnostics. */
  readonly instrumentations: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

function packageRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json above ${from}`);
}

function resolveToken(dataDir: string, given: string | undefined): string {
  if (given) return given;
  const file = join(dataDir, 'token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(18).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

export async function startCoordinator(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const rootDir = options.rootDir ?? packageRoot(dirname(fileURLToPath(import.meta.url)));
  const dataDir = resolve(options.dataDir ?? 'data');
  mkdirSync(dataDir, { recursive: true });
  const token = resolveToken(dataDir, options.token);

  const store = openSqliteStore(join(dataDir, 'grid.db'));
  const blobs = fileBlobStore(join(dataDir, 'blobs'));
  const programs = new ProgramService(store, blobs);
  const builtins = registerBuiltins(programs, rootDir);

  // socket.io first, attached to the HTTP server once the app that serves it exists.
  const connections = new ConnectionLimit(options.maxConnectionsPerIp ?? limitFromEnv('GRID_MAX_CONNECTIONS_PER_IP'));
  const io = new Server({
    // No connectionStateRecovery, on purpose: a recovered socket skips the namespace
    // middleware (socket.io's docs), which is where /dashboard checks the token.
    // Volunteers say hello again on every connect instead.
    serveClient: false,
    allowRequest: connections.allowRequest,
    parser: depthLimitedParser,
    pingInterval: PING_INTERVAL_MS,
    pingTimeout: PING_TIMEOUT_MS,
    maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
  });
  const dashboards: Namespace<DashboardToServer, ServerToDashboard> = io.of('/dashboard');
  const volunteers: Namespace<VolunteerToServer, ServerToVolunteer> = io.of('/volunteer');
  const eventsPerSecond = options.maxEventsPerSecond ?? limitFromEnv('GRID_MAX_EVENTS_PER_SECOND');
  const feed = new ChangeFeed(bindDashboardNamespace(dashboards, token, eventsPerSecond));
  const scheduler = new Scheduler(store, feed);
  const compaction = new CoordinatorCompaction(store, blobs);
  // A coupled rank's chain is not compacted: a rollback may need a checkpoint older than its newest.
  const checkpoints = new CheckpointService(store, blobs, scheduler, feed, (taskId) => {
    if (!scheduler.checkpointStored(taskId)) compaction.offer(taskId);
  }, options.maxCheckpointBytes);
  const gc = new CheckpointGc(store, blobs, {
    blobGraceMs: options.blobGraceMs,
    checkpointGraceMs: options.checkpointGraceMs ?? checkpointGraceFromEnv(),
    intervalMs: options.sweepIntervalMs,
  });
  bindVolunteerNamespace(volunteers, scheduler, checkpoints, (then) => store.commit.afterCommit(then), eventsPerSecond);
  const jobs = new JobService(store, programs, scheduler);
  const app = createApp({ token, publicDir: join(rootDir, 'public'), store, programs, jobs, scheduler });
  const httpServer = createAdaptorServer({ fetch: app.fetch }) as HttpServer;
  io.attach(httpServer);
  connections.attach(io.engine);

  await new Promise<void>((done, fail) => {
    httpServer.once('error', fail);
    httpServer.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => done());
  });
  // Listening first: built-ins are instrumented off the start-up path (cached after the first start).
  if (options.instrumentBuiltins ?? true) programs.instrumentInBackground(builtins.map((p) => p.id));
  gc.start();
  const address = httpServer.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    token,
    dataDir,
    builtins: builtins.map((p) => p.name),
    instrumentations: programs.instrumentations,
    async close() {
      scheduler.close();
      feed.close();
      await new Promise<void>((done) => io.close(() => done()));
      connections.close();
      httpServer.closeAllConnections?.();
      await Promise.all([compaction.close(), gc.close()]);
      await programs.close();
      store.close();
    },
  };
}
