/**
 * Test fixtures: the server (one per worker, started from the real build), a fresh room per test, and
 * `join`-ready participants, each in its own browser context (its own storage and permissions, like a
 * separate person). Extra browsers (Firefox next to Chromium, a browser that denies the camera) are
 * launched only by the tests that ask for them.
 */
import { test as base, chromium, firefox, type Browser, type BrowserContext } from '@playwright/test';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromiumLaunchOptions, firefoxLaunchOptions, FIREFOX_CHANNEL } from './browsers';
import { MeetingPage } from './meeting-page';
import { startServer, type NonstopServer, type ServerOptions } from './server';

export { expect } from '@playwright/test';
export { MeetingPage } from './meeting-page';

export type BrowserKind = 'chromium' | 'firefox';

export interface ParticipantOptions {
  /** Browser to open the participant in; the project's browser by default. */
  browser?: Browser;
  /** Server to use; the worker's server by default. */
  server?: NonstopServer;
  /** Viewport of the participant's page; 800x600 by default. */
  viewport?: { width: number; height: number };
}

interface TestFixtures {
  /** A fresh room name, unique to this test. */
  room: string;
  /** Opens a new participant (new context + page) on the pre-join-ready server. */
  participant: (name: string, opts?: ParticipantOptions) => Promise<MeetingPage>;
  /** Starts an extra server (e.g. `--capacity 2`), stopped after the test. */
  startServer: (opts?: Omit<ServerOptions, 'logFile'>) => Promise<NonstopServer>;
  /** Which browser the project runs. */
  kind: BrowserKind;
}

interface WorkerFixtures {
  server: NonstopServer;
  /** A Firefox next to the project's browser (for Chromium <-> Firefox calls). */
  firefoxBrowser: Browser;
  /** A browser of the project's kind in which camera and microphone are denied. */
  deniedBrowser: Browser;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  server: [
    async ({}, use, workerInfo) => {
      const logFile = path.join(workerInfo.project.outputDir, `server-worker${workerInfo.workerIndex}.log`);
      const server = await startServer({ logFile });
      await use(server);
      await server.stop();
    },
    { scope: 'worker', timeout: 30_000 },
  ],

  firefoxBrowser: [
    async ({}, use) => {
      const browser = await firefox.launch({ channel: FIREFOX_CHANNEL, ...firefoxLaunchOptions() });
      await use(browser);
      await browser.close();
    },
    { scope: 'worker', timeout: 60_000 },
  ],

  deniedBrowser: [
    async ({ browserName }, use) => {
      const browser =
        browserName === 'firefox'
          ? await firefox.launch({ channel: FIREFOX_CHANNEL, ...firefoxLaunchOptions({ permission: 'deny' }) })
          : await chromium.launch(chromiumLaunchOptions({ fakeUi: false }));
      await use(browser);
      await browser.close();
    },
    { scope: 'worker', timeout: 60_000 },
  ],

  kind: async ({ browserName }, use) => {
    await use(browserName === 'firefox' ? 'firefox' : 'chromium');
  },

  room: async ({}, use, testInfo) => {
    const slug = testInfo.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, 30).replace(/-+$/, '');
    await use(`e2e-${slug}-${crypto.randomBytes(4).toString('hex')}`);
  },

  startServer: async ({}, use, testInfo) => {
    const started: NonstopServer[] = [];
    await use(async (opts = {}) => {
      const server = await startServer({ ...opts, logFile: testInfo.outputPath(`server-${started.length + 1}.log`) });
      started.push(server);
      return server;
    });
    for (const s of started) {
      await s.stop();
      if (testInfo.status !== testInfo.expectedStatus) await testInfo.attach(path.basename(s.logFile), { path: s.logFile });
    }
  },

  participant: async ({ browser, server }, use, testInfo) => {
    const opened: { context: BrowserContext; meeting: MeetingPage }[] = [];
    await use(async (name, opts = {}) => {
      const context = await (opts.browser ?? browser).newContext({ viewport: opts.viewport ?? { width: 800, height: 600 } });
      const page = await context.newPage();
      const meeting = new MeetingPage(page, (opts.server ?? server).url, name);
      opened.push({ context, meeting });
      return meeting;
    });
    const failed = testInfo.status !== testInfo.expectedStatus;
    for (const { context, meeting } of opened) {
      if (failed) {
        if (!meeting.page.isClosed()) {
          await meeting.page
            .screenshot({ timeout: 5_000 })
            .then((body) => testInfo.attach(`${meeting.name}.png`, { body, contentType: 'image/png' }))
            .catch(() => {});
        }
        await testInfo.attach(`${meeting.name}-console.txt`, { body: meeting.consoleLines.join('\n') });
      }
      await context.close().catch(() => {});
    }
    if (failed && fs.existsSync(server.logFile)) {
      await testInfo.attach('server.log', { path: server.logFile });
    }
  },
});
