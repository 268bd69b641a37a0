/**
 * Child process entry of coordinator-child.ts: a real coordinator (real
 * SQLite in WAL mode with synchronous=FULL, the real blob folder) on the port
 * and data folder it is given, so that a test can `kill -9` it and start
 * another on the same address and files.
 */
import { startCoordinator } from '../../server/coordinator.ts';
import { parentChannel } from '../bench/child.ts';
import type { FromCoordinatorChild, ToCoordinatorChild } from './coordinator-child.ts';

const { CRASH_DATA_DIR: dataDir, CRASH_TOKEN: token, CRASH_PORT: port } = process.env;
if (!dataDir || !token || port === undefined) throw new Error('CRASH_DATA_DIR, CRASH_TOKEN and CRASH_PORT must be set');

const coordinator = await startCoordinator({ port: Number(port), dataDir, token, instrumentBuiltins: false });

const parent = parentChannel<ToCoordinatorChild, FromCoordinatorChild>(async (message) => {
  if (message.type === 'close') {
    await coordinator.close();
    process.exit(0);
  }
});
parent.send({ type: 'ready', url: coordinator.url });
