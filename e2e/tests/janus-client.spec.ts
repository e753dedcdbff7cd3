/**
 * The app's Janus client (core/src/janus, app/src/call/relayed) against a real Janus 1.1.2 in the hub
 * namespace (support/janus.ts): two Chromium pages, each in its own namespace, join the room through the
 * relayed transport's test hook (`window.wasmBindings.nonstopJanusProbe`, app/src/call/relayed/probe.rs),
 * publish their camera in three simulcast layers and receive each other through one multistream subscriber
 * connection. Each must decode the other's video (frames counted by the <video> element, a size known).
 */
import { test, expect } from '../support/fixtures';
import { createTopology } from '../support/topology';
import { startJanus, type JanusGrant, type TestJanus } from '../support/janus';
import type { Page } from '@playwright/test';

/** Joins through the probe as participant `me`, receiving `peers`. */
async function joinRelayed(page: Page, grant: JanusGrant, me: number, peers: number[]) {
  await page.waitForFunction(() => (window as any).wasmBindings?.nonstopJanusProbe);
  await page.evaluate(
    ({ g, me, peers }) =>
      (window as any).wasmBindings.nonstopJanusProbe(me, g.url, g.room, g.pin, g.token, g.roomToken, new Float64Array(peers)),
    { g: grant, me, peers },
  );
}

/** What this page decodes of `from`'s camera: the <video>'s size and frame count (0s until it arrives). */
async function decodedFrom(page: Page, from: number) {
  return page.evaluate((from) => {
    const streams: [number, string, MediaStream][] = (window as any).wasmBindings.nonstopJanusProbeStreams();
    const found = streams.find(([p, kind]) => p === from && kind === 'camera');
    if (!found) return { width: 0, frames: 0 };
    let video = document.getElementById(`relayed-${from}`) as HTMLVideoElement | null;
    if (!video) {
      video = document.createElement('video');
      video.id = `relayed-${from}`;
      video.muted = true;
      video.autoplay = true;
      document.body.append(video);
    }
    if (video.srcObject !== found[2]) video.srcObject = found[2];
    return { width: video.videoWidth, frames: video.getVideoPlaybackQuality().totalVideoFrames };
  }, from);
}

test.describe('Janus client', () => {
  test.describe.configure({ timeout: 120_000 });

  test('two participants publish through Janus and each decodes the other', async ({ kind }, testInfo) => {
    test.skip(kind !== 'chromium', 'the probe runs in Chromium first');
    const net = await createTopology({ participants: 2 });
    let janus: TestJanus | undefined;
    try {
      janus = await startJanus(net, testInfo.outputPath('janus'));
      await net.startServer({ logFile: testInfo.outputPath('server.log') });
      const ids = [101, 102];
      const pages: Page[] = [];
      for (const i of [0, 1]) {
        const browser = await net.launchChromium(i);
        const page = await (await browser.newContext()).newPage();
        page.on('console', (m) => console.log(`p${i}: ${m.text()}`));
        await page.goto(net.url);
        pages.push(page);
      }
      for (const i of [0, 1]) await joinRelayed(pages[i], janus.grant(), ids[i], [ids[1 - i]]);
      for (const i of [0, 1]) {
        const from = ids[1 - i];
        await expect.poll(async () => (await decodedFrom(pages[i], from)).width, { timeout: 60_000, message: `p${i} sees ${from}'s video` }).toBeGreaterThan(0);
        const before = (await decodedFrom(pages[i], from)).frames;
        await expect.poll(async () => (await decodedFrom(pages[i], from)).frames, { timeout: 10_000 }).toBeGreaterThan(before + 10);
      }
    } finally {
      await janus?.stop();
      await net.destroy();
    }
  });
});
