/** A real coordinator on port 0 with its own temp data folder, for integration and browser tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator } from '../../server/coordinator.ts';
import type { Coordinator, CoordinatorOptions } from '../../server/coordinator.ts';
import { ApiClient } from './api-client.ts';

process.env.GRID_LOG ??= 'silent';

export const TEST_TOKEN = 'test-token';

export interface TestCoordinator {
  coordinator: Coordinator;
  api: ApiClient;
  dataDir: string;
  /** Stops the coordinator, keeping its data folder (to start another on it). */
  stop(): Promise<void>;
  /** Stops it and deletes its data folder. */
  close(): Promise<void>;
}

/**
 * Starts a coordinator on `dataDir`. Built-ins are instrumented at their first
 * download rather than in the background at start-up (`instrumentBuiltins`):
 * most tests never run them, and on a small machine the background work would
 * slow every test that posts a program of its own.
 */
export async function startTestCoordinator(
  dataDir = mkdtempSync(join(tmpdir(), 'grid-test-')),
  options: Pick<CoordinatorOptions, 'instrumentBuiltins' | 'rootDir'> = {},
): Promise<TestCoordinator> {
  const coordinator = await startCoordinator({ port: 0, dataDir, token: TEST_TOKEN, instrumentBuiltins: false, ...options });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await coordinator.close();
  };
  return {
    coordinator,
    api: new ApiClient(coordinator.url, TEST_TOKEN),
    dataDir,
    stop,
    close: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
