/**
 * Calls whose participants each run in their own namespace of a Topology (support/topology.ts), the server
 * in the hub: `startTopologyCall` (one Chromium per participant, everyone joined in order and media checked
 * flowing) and `joinInNamespace` (one participant, Chromium or Firefox).
 */
import { MeetingPage } from './meeting-page';
import { expectMediaFlowing } from './media';
import { SignalingLog } from './signaling';
import type { Topology } from './topology';
import type { FakeVideoSpec } from './fake-video';
import type { Page } from '@playwright/test';
import { launchFirefox } from './topology-firefox';

export interface TopologyCallOptions {
  /** The server's log file. */
  logFile: string;
  viewport?: { width: number; height: number };
  /** false: the app runs with its adaptation controller off (localStorage "nonstop.adapt" = "off"). */
  adapt?: boolean;
  /** Wait until every link is up with audio flowing (default true). */
  waitForMedia?: boolean;
  /** Also wait for video on every link (default false: on a starved machine the controller may hold video back). */
  requireVideo?: boolean;
  /** The participants' browser (default Chromium). */
  browser?: 'chromium' | 'firefox';
}

export async function startTopologyCall(net: Topology, room: string, names: string[], opts: TopologyCallOptions) {
  await net.startServer({ logFile: opts.logFile });
  const people: MeetingPage[] = [];
  for (let i = 0; i < names.length; i++) {
    const browser = opts.browser === 'firefox' ? await launchFirefox(net, i) : await net.launchChromium(i);
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 800, height: 600 } });
    if (opts.adapt === false) await context.addInitScript(() => localStorage.setItem('nonstop.adapt', 'off'));
    const page = await context.newPage();
    const p = new MeetingPage(page, net.url, names[i]);
    await p.join(room);
    people.push(p);
  }
  const ids = await Promise.all(people.map((p) => p.id()));
  if (opts.waitForMedia !== false) {
    try {
      for (const p of people) await expectMediaFlowing(p, { remotes: names.length - 1, video: opts.requireVideo ?? false, timeout: 60_000 });
    } catch (e) {
      // What each participant's controller saw, for the failure's log.
      for (const p of people) {
        await p.button('Show statistics').click().catch(() => {});
        const panel = await p.page.getByTestId('stats-panel').innerText().catch(() => '(no panel)');
        console.log(`${p.name} (${ids[people.indexOf(p)]}): ${panel.replace(/\n/g, ' | ')}`);
      }
      throw e;
    }
  }
  return { people, ids };
}

/** A small camera feed, for tests about routes and recovery rather than bit rates (2 cores, up to 3 browsers). */
export const SMALL_VIDEO = { width: 320, height: 240, fps: 15, frames: 30 };

export type NamespaceBrowser = 'chromium' | 'firefox';

/**
 * Launches a browser (Chromium by default) in participant `i`'s namespace and joins `room` as `name`,
 * recording the page's signaling from the start. Marks the document once joined (`window.__sameDocument`):
 * still set at the end only if the page was never reloaded.
 */
export async function joinInNamespace(
  net: Topology,
  i: number,
  name: string,
  room: string,
  {
    browser = 'chromium',
    video = SMALL_VIDEO,
    viewport = { width: 640, height: 480 },
    beforeJoin,
    firefoxFps,
    url = net.url,
  }: {
    browser?: NamespaceBrowser;
    /** Chromium's fake camera (Firefox makes its own). */
    video?: FakeVideoSpec;
    /** Firefox's fake camera frame rate (its own picture; 24, as the app asks, by default). */
    firefoxFps?: number;
    viewport?: { width: number; height: number };
    /** Runs on the new page before it opens the room (e.g. to add an init script). */
    beforeJoin?: (page: Page) => Promise<void>;
    /** The origin to open the room at: the hub's server unless a test runs a second node. */
    url?: string;
  } = {},
): Promise<{ p: MeetingPage; id: number; signaling: SignalingLog }> {
  const launched = browser === 'firefox' ? await launchFirefox(net, i, { fps: firefoxFps }) : await net.launchChromium(i, { video });
  const page = await (await launched.newContext({ viewport })).newPage();
  await beforeJoin?.(page);
  const signaling = await SignalingLog.attach(page);
  const p = new MeetingPage(page, url, name);
  const id = await p.join(room);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  return { p, id, signaling };
}
