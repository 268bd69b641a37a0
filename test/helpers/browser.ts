/**
 * Debian's Chromium for the browser tests, driven by playwright-core (no
 * browser download). One browser per test file; one context per volunteer or
 * dashboard, so each has its own localStorage and IndexedDB.
 */
import { chromium } from 'playwright-core';
import type { Browser, LaunchOptions, Page } from 'playwright-core';

/** @default '/usr/bin/chromium' (API.md "Environment") */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a quiet, headless, sandbox-free Chromium in a container. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // Volunteer tabs sit in the background while another page has focus: keep their timers at full speed.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/** Launches Debian's Chromium headless with the flags above; `options` adds Playwright launch options. */
export function launchBrowser(options: Omit<LaunchOptions, 'executablePath' | 'headless' | 'args'> = {}): Promise<Browser> {
  return chromium.launch({ ...options, executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/**
 * What the pages said: console warnings and errors, uncaught exceptions and
 * crashes, each line labelled with the page it came from. Tests print it when
 * they fail, so a failure in the browser can be read from the test output.
 */
export class PageLog {
  readonly lines: string[] = [];
  readonly #started = Date.now();

  /** Records `page`'s warnings, errors and crashes under `label`. */
  watch(page: Page, label: string): void {
    const add = (text: string) => this.lines.push(`[${((Date.now() - this.#started) / 1000).toFixed(2)}s ${label}] ${text}`);
    // Messages of the page's workers (the compute workers) arrive here too, with the worker's URL.
    page.on('console', (message) => {
      const type = message.type();
      if (type !== 'error' && type !== 'warning') return;
      const { url } = message.location();
      add(`console.${type}: ${message.text()}${url ? ` (${url})` : ''}`);
    });
    page.on('pageerror', (error) => add(`uncaught: ${error.stack ?? error.message}`));
    page.on('crash', () => add('the page crashed'));
    page.on('requestfailed', (request) => {
      // Closing a page aborts its socket; only failures of pages still open are news.
      if (!page.isClosed()) add(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText ?? '?'})`);
    });
  }

  /** Adds a line of the test's own (what it did and when), to read the browser's lines against. */
  note(text: string): void {
    this.lines.push(`[${((Date.now() - this.#started) / 1000).toFixed(2)}s test] ${text}`);
  }

  toString(): string {
    return this.lines.length ? this.lines.join('\n') : '(the pages logged no warnings or errors)';
  }
}
