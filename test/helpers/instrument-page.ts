/**
 * Opens instrument.page.ts in Chromium on an isolated page (SharedArrayBuffer,
 * multi-memory) and calls its harness: shared by the barrier test and the
 * instrumentation benchmark.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import type { Harness } from '../e2e/instrument.page.ts';
import { PageLog, launchBrowser } from './browser.ts';
import { startIsolatedServer } from './isolated-server.ts';
import type { IsolatedServer } from './isolated-server.ts';

export interface InstrumentPage {
  call<K extends keyof Harness>(name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>>;
  readonly log: PageLog;
  close(): Promise<void>;
}

export async function openInstrumentPage(): Promise<InstrumentPage> {
  const entry = fileURLToPath(new URL('../e2e/instrument.page.ts', import.meta.url));
  const bundle = await build({ entryPoints: [entry], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', logLevel: 'warning' });
  let server: IsolatedServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startIsolatedServer();
    server.put('/harness.js', bundle.outputFiles[0]!.text, 'text/javascript');
    browser = await launchBrowser();
    const page: Page = await browser.newPage();
    const log = new PageLog();
    log.watch(page, 'instrument');
    await page.goto(`${server.url}/`);
    await page.addScriptTag({ url: '/harness.js' });
    const opened = { browser, server };
    return {
      log,
      call: (name, ...args) =>
        page.evaluate(
          ([n, a]) => (globalThis as unknown as { instrumentHarness: Record<string, (...x: unknown[]) => unknown> }).instrumentHarness[n]!(...a),
          [name, args] as const,
        ) as never,
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
