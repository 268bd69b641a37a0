/**
 * The faults the soak injects, as a registry: a name and a function that
 * injects one and says what it did. Adding a fault (quota exhaustion, a
 * cheating volunteer…) is one more entry here.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { PageLog } from '../helpers/browser.ts';
import type { CoordinatorChild } from '../helpers/coordinator-child.ts';
import type { CuttingProxy } from '../helpers/cutting-proxy.ts';
import { openVolunteer } from '../helpers/e2e-pages.ts';
import type { JobWatch } from '../helpers/coordinator-child-watch.ts';
import { awaitMoment, lostSince } from '../helpers/coordinator-child-watch.ts';

/** How long a dropped-connection fault waits for traffic to cut. */
const CUT_WAIT_MS = 5_000;

export interface SoakVolunteer {
  name: string;
  workers: number;
  /** The page's base URL: the coordinator's, or the cutting proxy's in front of it. */
  baseUrl: string;
  context: BrowserContext;
  page: Page;
}

/** What a fault may touch. */
export interface SoakWorld {
  readonly browser: Browser;
  readonly log: PageLog;
  readonly proxy: CuttingProxy;
  readonly volunteers: SoakVolunteer[];
  readonly watch: JobWatch;
  readonly random: () => number;
  /** The coordinator running now. */
  grid(): CoordinatorChild;
  /** Starts a new coordinator process on the same port and data folder. */
  restart(): Promise<CoordinatorChild>;
  /** Records acknowledged work a restart lost (it should be none). */
  lost(violations: string[]): void;
}

export interface Fault {
  name: string;
  /** Injects the fault once; resolves when the grid may carry on, with a line saying what was done (undefined: there was nothing to inject it into). */
  inject(world: SoakWorld): Promise<string | undefined>;
}

const pick = <T>(world: SoakWorld, items: readonly T[]): T => items[Math.floor(world.random() * items.length)]!;

/** Opens the volunteer's page again in its own context (the same identity and IndexedDB: a reopened tab). */
async function reopen(world: SoakWorld, volunteer: SoakVolunteer): Promise<void> {
  const opened = await openVolunteer(world.browser, volunteer.baseUrl, world.log, { name: volunteer.name, workers: volunteer.workers, context: volunteer.context });
  volunteer.page = opened.page;
}

export const FAULTS: readonly Fault[] = [
  {
    name: 'coordinator kill -9',
    async inject(world) {
      const aim = pick(world, ['mid-upload', 'mid-round', 'anytime'] as const);
      const { moment, detail, observed } = await awaitMoment(world.watch, aim, 2_500);
      await world.grid().kill();
      const grid = await world.restart();
      world.watch.reconnect(grid.api, observed.acknowledged);
      world.lost(lostSince(observed.acknowledged, (await world.watch.read()).latest));
      return `${moment}${detail ? ` (${detail})` : ''}`;
    },
  },
  {
    name: 'tab closed and reopened',
    async inject(world) {
      const volunteer = pick(world, world.volunteers);
      await volunteer.page.close();
      await new Promise((resolve) => setTimeout(resolve, 500 + world.random() * 1_500));
      await reopen(world, volunteer);
      return volunteer.name;
    },
  },
  {
    name: 'tab crashed',
    async inject(world) {
      const volunteer = pick(world, world.volunteers);
      const cdp = await volunteer.context.newCDPSession(volunteer.page);
      // Page.crash never answers: the renderer is gone.
      void cdp.send('Page.crash').catch(() => {});
      await volunteer.page.waitForEvent('crash', { timeout: 5_000 }).catch(() => {});
      await volunteer.page.close().catch(() => {});
      await reopen(world, volunteer);
      return volunteer.name;
    },
  },
  {
    name: 'connection dropped',
    async inject(world) {
      const cut = world.proxy.cutAfter(1 + Math.floor(world.random() * 64 * 1024));
      const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), CUT_WAIT_MS));
      const done = await Promise.race([cut.then(() => true), timeout]);
      // Still armed if nothing passed: the next proxied traffic is cut then.
      return done ? 'a proxied volunteer socket cut mid-stream' : undefined;
    },
  },
];
