/**
 * Opens wasm-bench.page.ts in headless Chromium on a cross-origin-isolated
 * page (shared memories, multi-memory) and calls its harness: the Node side
 * of the instrumentation benchmark. The same server serves the checkpointed
 * runs' two workers (the real checkpoint worker, the probed compute worker)
 * and the programs they run (`put`).
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.ts';
import { startIsolatedServer } from '../helpers/isolated-server.ts';
import type { IsolatedServer } from '../helpers/isolated-server.ts';
import type { Harness } from './wasm-bench.page.ts';
import { CHECKPOINT_WORKER_PATH, COMPUTE_WORKER_PATH } from './wasm-checkpoint.page.ts';

export interface WasmBenchPage {
  call<K extends keyof Harness>(name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>>;
  /** Serves `bytes` at `path` (a program for a checkpointed run). */
  put(path: string, bytes: Uint8Array, type: string): void;
  close(): Promise<void>;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

async function bundle(entry: string, format: 'iife' | 'esm'): Promise<string> {
  const out = await build({ entryPoints: [entry], bundle: true, write: false, format, platform: 'browser', target: 'es2022', logLevel: 'warning' });
  return out.outputFiles[0]!.text;
}

export async function openWasmBenchPage(): Promise<WasmBenchPage> {
  const [harness, checkpointWorker, computeWorker] = await Promise.all([
    bundle(here('./wasm-bench.page.ts'), 'iife'),
    bundle(here('../../client/checkpoint/checkpoint-worker.ts'), 'esm'),
    bundle(here('./wasm-checkpoint.compute.ts'), 'esm'),
  ]);
  let server: IsolatedServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startIsolatedServer();
    server.put('/harness.js', harness, 'text/javascript');
    server.put(CHECKPOINT_WORKER_PATH, checkpointWorker, 'text/javascript');
    server.put(COMPUTE_WORKER_PATH, computeWorker, 'text/javascript');
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.addScriptTag({ url: '/harness.js' });
    const opened = { browser, server };
    const call: WasmBenchPage['call'] = (name, ...args) =>
      page.evaluate(
        ([n, a]) => (globalThis as unknown as { wasmBenchHarness: Record<string, (...x: unknown[]) => unknown> }).wasmBenchHarness[n]!(...a),
        [name, args] as const,
      ) as never;
    if (!(await call('isolated'))) throw new Error('the bench page is not cross-origin isolated (no shared memory)');
    return {
      call,
      put: (path, bytes, type) => opened.server.put(path, bytes, type),
      close: async () => {
        await opened.browser.close();
        await opened.server.close();
      },
    };
  } catch (error) {
    await browser?.close();
    await server?.close();
    throw error;
  }
}
