/**
 * The grid's pages as the browser tests drive them: a volunteer tab in its own
 * browser context (its own localStorage and IndexedDB, so its own volunteer
 * identity) and the dashboard with the token.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { PageLog } from './browser.ts';

/** Long enough for a cold Chromium on a busy 2-core machine to load a page and connect. */
const PAGE_READY_MS = 15_000;

export interface VolunteerPage {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** The volunteer id the page shows (and the coordinator's tasks name). */
  readonly id: string;
  /** The page's own "N finished" counter. */
  finished(): Promise<number>;
  close(): Promise<void>;
}

export interface VolunteerOptions {
  name: string;
  workers?: number;
  /** Open it in this context (the same browser profile: a reopened tab) instead of a fresh one. */
  context?: BrowserContext;
  /** Runs on the new page before it loads (to watch or route its socket). */
  beforeLoad?: (page: Page) => Promise<void> | void;
}

/** Opens `/volunteer?workers=…&name=…` in a fresh context (or `options.context`); resolves once it is connected and welcomed. */
export async function openVolunteer(browser: Browser, baseUrl: string, log: PageLog, options: VolunteerOptions): Promise<VolunteerPage> {
  const context = options.context ?? (await browser.newContext());
  const page = await context.newPage();
  log.watch(page, `volunteer ${options.name}`);
  await options.beforeLoad?.(page);
  const query = new URLSearchParams({ workers: String(options.workers ?? 1), name: options.name });
  await page.goto(`${baseUrl}/volunteer?${query}`);
  await page.locator('#status[data-connected="true"]').waitFor({ timeout: PAGE_READY_MS });
  const counts = page.locator('#counts');
  const text = (await counts.textContent({ timeout: PAGE_READY_MS })) ?? '';
  const id = /· id (\S+)$/.exec(text)?.[1];
  if (!id) throw new Error(`volunteer ${options.name}: no id in #counts ${JSON.stringify(text)}`);
  return {
    name: options.name,
    context,
    page,
    id,
    async finished() {
      const shown = (await counts.textContent()) ?? '';
      const match = /^(\d+) finished/.exec(shown);
      if (!match) throw new Error(`volunteer ${options.name}: no finished count in ${JSON.stringify(shown)}`);
      return Number(match[1]);
    },
    close: () => context.close(),
  };
}

/** Opens the dashboard with the token in the address (`/#token=…`), in its own context. */
export async function openDashboard(browser: Browser, baseUrl: string, token: string, log: PageLog): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  log.watch(page, 'dashboard');
  await page.goto(`${baseUrl}/#token=${encodeURIComponent(token)}`);
  await page.getByTestId('home-page').waitFor({ timeout: PAGE_READY_MS });
  return { context, page };
}
