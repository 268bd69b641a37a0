/** `npm start`: the coordinator with the embedded store, configured from the environment (API.md). */
import { startCoordinator } from './coordinator.ts';
import { logger } from './logger.ts';

const log = logger('main');

function portFromEnv(): number {
  const raw = process.env.PORT ?? '8080';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT: expected a port number, got "${raw}"`);
  return port;
}

const coordinator = await startCoordinator({
  port: portFromEnv(),
  host: process.env.HOST ?? '127.0.0.1',
  dataDir: process.env.GRID_DATA ?? 'data',
  ...(process.env.GRID_TOKEN ? { token: process.env.GRID_TOKEN } : {}),
  // GRID_MAX_CONNECTIONS_PER_IP and GRID_MAX_EVENTS_PER_SECOND are read by startCoordinator (limits-from-env.ts).
});

console.log(`
  Browser grid coordinator
  dashboard   ${coordinator.url}/#token=${coordinator.token}
  volunteer   ${coordinator.url}/volunteer
  data folder ${coordinator.dataDir}
  examples    ${coordinator.builtins.join(', ') || '(none found: run npm run build)'}
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info(`${signal}: stopping`);
    void coordinator.close().then(() => process.exit(0));
  });
}
