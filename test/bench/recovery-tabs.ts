/**
 * Browser tabs that Playwright does not watch, in the Chromium it launched.
 *
 * Why: Playwright enables CDP's Network domain on every page it drives, and
 * Chromium then copies every WebSocket frame to it, base64-encoded. Measured
 * on this machine in one browser (launchBrowser), 64 MiB sent as 1 MiB
 * WebSocket messages with 4 in flight took ~17 s from a Playwright page and
 * ~1 s from a page Playwright does not drive. Recovery moves tens of MiB over
 * the volunteer's socket (uploads, the download on resume) and socket.io's
 * 2 s ping timeout dropped volunteers whose link crawled, so with Playwright
 * pages this bench measured Playwright. Its tabs therefore live in a browser
 * context created over a raw CDP session: Playwright does not attach to
 * contexts it did not create (a browser it launched has no default context to
 * file them under), and the bench talks to each tab through a session of its
 * own (Target.sendMessageToTarget), never enabling Network.
 */
import type { Browser, CDPSession } from 'playwright-core';

/** @default for a CDP call; long page-side measurements pass their own. */
const CALL_TIMEOUT_MS = 30_000;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

interface TargetMessage {
  id?: number;
  result?: unknown;
  error?: { message: string };
  method?: string;
  params?: {
    type?: string;
    args?: { value?: unknown; description?: string }[];
    exceptionDetails?: { text: string; exception?: { description?: string } };
  };
}

interface EvaluateResult {
  result: { value?: unknown };
  exceptionDetails?: { text: string; exception?: { description?: string } };
}

/** One tab and the bench's session with it. */
export class RawTab {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #gone = false;

  constructor(
    private readonly cdp: CDPSession,
    readonly targetId: string,
    readonly sessionId: string,
    /** Its browser context: a volunteer's profile (IndexedDB, localStorage). */
    readonly contextId: string,
    private readonly log: (line: string) => void,
  ) {}

  /** A message from the tab (RawBrowser routes them): an answer, or a console warning or error worth keeping. */
  receive(text: string): void {
    const message = JSON.parse(text) as TargetMessage;
    if (message.id !== undefined) {
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      if (message.error) pending.reject(new Error(message.error.message));
      else pending.resolve(message.result);
    } else if (message.method === 'Runtime.consoleAPICalled' && (message.params?.type === 'warning' || message.params?.type === 'error')) {
      this.log(`console.${message.params.type}: ${(message.params.args ?? []).map((a) => a.description ?? String(a.value)).join(' ')}`);
    } else if (message.method === 'Runtime.exceptionThrown') {
      const details = message.params?.exceptionDetails;
      this.log(`uncaught: ${details?.exception?.description ?? details?.text}`);
    }
  }

  /** The session ended (tab closed or crashed): nothing pending will be answered. */
  detached(): void {
    this.#gone = true;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new Error('the tab is gone'));
    }
    this.#pending.clear();
  }

  send<T = unknown>(method: string, params: object = {}, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    if (this.#gone) return Promise.reject(new Error(`${method}: the tab is gone`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      this.cdp.send('Target.sendMessageToTarget', { sessionId: this.sessionId, message: JSON.stringify({ id, method, params }) }).catch((error: Error) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(error);
      });
    });
  }

  /** Evaluates `expression` in the page (awaiting a promise) and returns its JSON value; a page exception is thrown here. */
  async evaluate<T>(expression: string, timeoutMs?: number): Promise<T> {
    const answer = await this.send<EvaluateResult>('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, timeoutMs);
    if (answer.exceptionDetails) throw new Error(answer.exceptionDetails.exception?.description ?? answer.exceptionDetails.text);
    return answer.result.value as T;
  }

  /** Closes the tab as Playwright's `page.close()` does (Target.closeTarget): the page's `pagehide` runs. */
  async close(): Promise<void> {
    await this.cdp.send('Target.closeTarget', { targetId: this.targetId });
  }

  /** Crashes the tab's renderer: no `pagehide`, no goodbye; its sockets just drop. Page.crash never answers. */
  crash(): void {
    this.send('Page.crash', {}, 5_000).catch(() => {});
  }
}

/** Opens tabs outside Playwright's view (see the file comment) and routes their messages. */
export class RawBrowser {
  readonly #tabs = new Map<string, RawTab>();
  /** Console warnings, errors and uncaught exceptions of every tab, labelled. */
  readonly lines: string[] = [];
  readonly #started = Date.now();

  private constructor(private readonly cdp: CDPSession) {
    cdp.on('Target.receivedMessageFromTarget', (event) => event.sessionId && this.#tabs.get(event.sessionId)?.receive(event.message));
    cdp.on('Target.detachedFromTarget', (event) => {
      if (!event.sessionId) return;
      this.#tabs.get(event.sessionId)?.detached();
      this.#tabs.delete(event.sessionId);
    });
  }

  static async open(browser: Browser): Promise<RawBrowser> {
    return new RawBrowser(await browser.newBrowserCDPSession());
  }

  /** A fresh profile, as `browser.newContext()` makes (CDP's own call, minus Playwright's attachment). */
  async newContext(): Promise<string> {
    return (await this.cdp.send('Target.createBrowserContext', {})).browserContextId;
  }

  /** A blank tab in `contextId`, with Runtime and Page enabled on the bench's session and nothing else. */
  async openTab(contextId: string, label: string): Promise<RawTab> {
    const { targetId } = await this.cdp.send('Target.createTarget', { url: 'about:blank', browserContextId: contextId });
    const { sessionId } = await this.cdp.send('Target.attachToTarget', { targetId, flatten: false });
    const tab = new RawTab(this.cdp, targetId, sessionId, contextId, (line) =>
      this.lines.push(`[${((Date.now() - this.#started) / 1000).toFixed(2)}s ${label}] ${line}`),
    );
    this.#tabs.set(sessionId, tab);
    // Playwright's auto-attach may have left it waiting for a debugger: let it run.
    await tab.send('Runtime.runIfWaitingForDebugger').catch(() => {});
    await tab.send('Runtime.enable');
    await tab.send('Page.enable');
    return tab;
  }

  async disposeContext(contextId: string): Promise<void> {
    await this.cdp.send('Target.disposeBrowserContext', { browserContextId: contextId }).catch(() => {});
  }

  async close(): Promise<void> {
    await this.cdp.detach().catch(() => {});
  }
}
