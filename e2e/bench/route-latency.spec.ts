/**
 * Time to connect per route (run through scripts/bench-routes, which prints the numbers): from the second
 * participant's click on "Join meeting" to the first remote video frame decoded on both sides, over a direct
 * link, through TURN over UDP and through TURN over TCP. Two Chromiums, each in its own network namespace
 * (support/topology.ts), the server and coturn in the hub; the route is forced with nft:
 *   direct     no rules;
 *   relay-udp  no UDP between the two participants (TURN reachable over UDP);
 *   relay-tcp  neither participant may send UDP at all, TCP only to the hub.
 * Each run joins a fresh room in fresh browser contexts, after one warm-up run per route; the route badge of
 * both tiles is checked after each run. Writes .cache/bench-routes.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, expect, MeetingPage } from '../support/fixtures';
import { CACHE_DIR } from '../support/browsers';
import { armFirstFrameWatch, firstFrame, median } from '../support/first-frame';
import { createTopology } from '../support/topology';
import type { Browser } from '@playwright/test';

const RUNS = Number(process.env.NONSTOP_BENCH_RUNS ?? 10);
const ROUTES = ['direct', 'relay-udp', 'relay-tcp'] as const;
type RouteName = (typeof ROUTES)[number];

async function newPage(browser: Browser, name: string, url: string): Promise<MeetingPage> {
  const page = await (await browser.newContext({ viewport: { width: 640, height: 480 } })).newPage();
  return new MeetingPage(page, url, name);
}

test('time to connect per route: direct, relay UDP, relay TCP', async ({ room }, testInfo) => {
  const result: Record<string, unknown> = { runs: RUNS };
  for (const route of ROUTES) {
    const net = await createTopology({ participants: 2 });
    try {
      const turnArgs = await net.startCoturn({ dir: testInfo.outputPath(`coturn-${route}`) });
      await net.startServer({ logFile: testInfo.outputPath(`server-${route}.log`), extraArgs: turnArgs });
      if (route === 'relay-udp') net.blockBetween(0, 1, 'udp');
      if (route === 'relay-tcp') {
        net.blockUdp(0);
        net.blockUdp(1);
      }
      const browsers = [await net.launchChromium(0), await net.launchChromium(1)];
      const samples: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const r = `${room}-${route}-${i}`;
        const first = await newPage(browsers[0], `First ${i}`, net.url);
        const second = await newPage(browsers[1], `Second ${i}`, net.url);
        const firstId = await first.join(r);
        await second.gotoRoom(r);
        await second.nameInput.fill(second.name);
        await expect.poll(() => second.preview.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
        await armFirstFrameWatch(first);
        await armFirstFrameWatch(second);
        await second.joinMeetingButton.evaluate((b) => {
          (window as any).__benchClick = new Promise<number>((resolve) =>
            b.addEventListener('click', (e) => resolve(performance.timeOrigin + e.timeStamp), { capture: true, once: true }),
          );
        });
        await second.joinMeetingButton.click();
        const clickAt: number = await second.page.evaluate(() => (window as any).__benchClick);
        const [a, b] = await Promise.all([first, second].map(firstFrame));
        const both = Math.max(a.at, b.at) - clickAt;
        // The link really took the route being measured (badge on both tiles).
        const secondId = await second.id();
        await expect(first.tileOf(secondId).getByTestId('route')).toHaveAttribute('data-route', route);
        await expect(second.tileOf(firstId).getByTestId('route')).toHaveAttribute('data-route', route);
        if (i === 0) {
          console.log(`${route}: warm-up (not counted) ${both.toFixed(0)} ms`);
        } else {
          samples.push(both);
          console.log(`${route}: run ${i}: ${both.toFixed(0)} ms (first ${(a.at - clickAt).toFixed(0)}, joiner ${(b.at - clickAt).toFixed(0)})`);
        }
        await first.page.context().close();
        await second.page.context().close();
      }
      result[route] = {
        runs: samples.length,
        medianMs: Math.round(median(samples)),
        minMs: Math.round(Math.min(...samples)),
        maxMs: Math.round(Math.max(...samples)),
        samplesMs: samples.map(Math.round),
      };
    } finally {
      await net.destroy();
    }
  }
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  fs.writeFileSync(path.join(CACHE_DIR, 'bench-routes.json'), JSON.stringify(result, null, 2));
});
