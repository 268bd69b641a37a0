/**
 * Child process entry for the fuzz test: a coordinator on port 0 that counts
 * every unhandled rejection and uncaught exception (and stays up to report
 * them), and answers the parent's `heap` with its heap after a full GC. Run
 * with --expose-gc. See fuzz-coordinator.ts.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startCoordinator } from '../../server/coordinator.ts';
import { parentChannel } from '../bench/child.ts';
import type { FromFuzzCoordinator, ToFuzzCoordinator } from './fuzz-coordinator.ts';

const crashes: string[] = [];
process.on('unhandledRejection', (reason) => crashes.push(`unhandled rejection: ${String((reason as Error)?.stack ?? reason)}`));
process.on('uncaughtException', (error) => crashes.push(`uncaught exception: ${error.stack ?? String(error)}`));

const dataDir = process.env.FUZZ_DATA_DIR;
const token = process.env.FUZZ_TOKEN;
if (!dataDir || !token) throw new Error('FUZZ_DATA_DIR and FUZZ_TOKEN must be set');
const coordinator = await startCoordinator({ port: 0, dataDir, token, instrumentBuiltins: false });

/** How long the coordinator's event loop was blocked at worst: its own stalls, apart from the fuzzer's and the machine's. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with --expose-gc');

const parent = parentChannel<ToFuzzCoordinator, FromFuzzCoordinator>(async (message) => {
  if (message.type === 'heap') {
    collect();
    collect();
    parent.send({ type: 'heap', heapUsed: process.memoryUsage().heapUsed, crashes, loopDelayMaxMs: loopDelay.max / 1e6, loopDelayP99Ms: loopDelay.percentile(99) / 1e6 });
    loopDelay.reset();
  } else if (message.type === 'close') {
    await coordinator.close();
    process.exit(0);
  }
});
parent.send({ type: 'ready', url: coordinator.url });
