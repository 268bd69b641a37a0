/**
 * Opens wasm-bench.page.ts in headless Chromium on a cross-origin-isolated
 * page (shared memories, multi-memory) and calls its harness: the Node side
 * of the instrumentation benchmark.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.ts';
import { startIsolatedServer } from '../helpers/isolated-server.ts';
import type { IsolatedServer } from '../helpers/isolated-server.ts';
import type { Harness } from './wasm-bench.page.ts';

export interface WasmBenchPage {
  call<K extends keyof Harness>(name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>>;
  close(): Promise<void>;
}

export async function openWasmBenchPage(): Promise<WasmBenchPage> {
  const entry = fileURLToPath(new URL('./wasm-bench.page.ts', import.meta.url));
  const bundle = await build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', logLevel: 'warning' });
  let server: IsolatedServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startIsolatedServer();
    server.put('/harness.js', bundle.outputFiles[0]!.text, 'text/javascript');
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
