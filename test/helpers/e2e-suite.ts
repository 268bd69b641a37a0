/**
 * What every browser test file starts with: a real coordinator on port 0, one
 * Chromium, and the pages' warnings and errors printed under any test that
 * fails. Call `e2eSuite()` at the top level of a test file; it registers the
 * hooks and hands back the running pieces (readable once the tests run).
 */
import { after, afterEach, before } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PageLog, launchBrowser } from './browser.ts';
import { PING_INTERVAL_MS, PING_TIMEOUT_MS } from '../../shared/limits.ts';
import { openDashboard, openVolunteer } from './e2e-pages.ts';
import { pollUntil } from './wait-for.ts';
import type { VolunteerOptions, VolunteerPage } from './e2e-pages.ts';
import { startTestCoordinator, TEST_TOKEN } from './test-coordinator.ts';
import type { TestCoordinator } from './test-coordinator.ts';

/** A closed page's socket is gone at once; a hung one within socket.io's ping interval and timeout. */
const DISCONNECT_MS = PING_INTERVAL_MS + PING_TIMEOUT_MS + 5_000;

export interface E2eSuite {
  readonly grid: TestCoordinator;
  readonly browser: Browser;
  readonly log: PageLog;
  /** Opens a volunteer page in a fresh context (its own identity and IndexedDB), or as `options` say. */
  volunteer(name: string, workers?: number, options?: Omit<VolunteerOptions, 'name' | 'workers'> & { baseUrl?: string }): Promise<VolunteerPage>;
  dashboard(): Promise<{ context: BrowserContext; page: Page }>;
  /** Closes every page opened so far and waits until the coordinator counts none of them connected. */
  closePages(): Promise<void>;
}

export interface E2eSuiteOptions {
  /**
   * Runs once the coordinator and browser are up, before the first test. (A
   * file's own top-level `before` would not wait for them: Node 20 starts
   * root-level `before` hooks without awaiting the previous one.)
   */
  setup?: (suite: E2eSuite) => Promise<void>;
}

export function e2eSuite(options: E2eSuiteOptions = {}): E2eSuite {
  let grid: TestCoordinator | undefined;
  let browser: Browser | undefined;
  const log = new PageLog();
  const contexts: BrowserContext[] = [];
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started yet (use it inside a test or hook)`);
    return value;
  };

  const suite: E2eSuite = {
    get grid() {
      return need(grid, 'the coordinator');
    },
    get browser() {
      return need(browser, 'the browser');
    },
    log,
    async volunteer(name, workers = 1, { baseUrl, ...options } = {}) {
      const page = await openVolunteer(suite.browser, baseUrl ?? suite.grid.coordinator.url, log, { name, workers, ...options });
      if (!contexts.includes(page.context)) contexts.push(page.context);
      log.note(`volunteer ${name} is ${page.id}`);
      return page;
    },
    async dashboard() {
      const opened = await openDashboard(suite.browser, suite.grid.coordinator.url, TEST_TOKEN, log);
      contexts.push(opened.context);
      return opened;
    },
    async closePages() {
      await Promise.all(contexts.splice(0).map((context) => context.close()));
      await pollUntil(
        async () => ((await suite.grid.api.volunteers()).every((v) => !v.connected) ? true : undefined),
        DISCONNECT_MS,
        'every volunteer to disconnect',
      );
    },
  };

  before(async () => {
    grid = await startTestCoordinator();
    browser = await launchBrowser();
    try {
      await options.setup?.(suite);
    } catch (error) {
      console.error(`\n--- what the pages logged (setup) ---\n${log}\n---\n`);
      throw error;
    }
  });
  afterEach((t) => {
    // TestContext#passed exists since Node 20.12 but not in @types/node 20. E2E_LOG=1 prints the log always.
    const failed = (t as { passed?: boolean }).passed === false;
    if (failed || process.env.E2E_LOG) console.error(`\n--- what the pages logged (up to "${t.name}") ---\n${log}\n---\n`);
  });
  after(async () => {
    await browser?.close();
    await grid?.close();
  });
  return suite;
}
