/**
 * The app's Janus client (core/src/janus, app/src/call/relayed) against a real Janus 1.1.2 in the hub
 * namespace (support/janus.ts): two Chromium pages, each in its own namespace, join the room through the
 * relayed transport's test hook (`window.wasmBindings.nonstopJanusProbe`, app/src/call/relayed/probe.rs),
 * publish their camera in three simulcast layers and receive each other through one multistream subscriber
 * connection. Each must decode the other's video (frames counted by the <video> element, a size known), first
 * in the widest simulcast layer sent, then a small tile gets the narrowest (`configure` substream 0). The
 * publisher's layers are read from its own stats (every RTCPeerConnection of the page is kept in `__pcs`).
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

  test('two participants publish through Janus, each decodes the other, a small tile gets a lower layer', async ({ kind }, testInfo) => {
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
        const context = await browser.newContext();
        // Every RTCPeerConnection the page makes, to read the publisher's layers from its stats.
        await context.addInitScript(() => {
          const Native = window.RTCPeerConnection;
          const all: RTCPeerConnection[] = ((window as any).__pcs = []);
          (window as any).RTCPeerConnection = function (config?: RTCConfiguration) {
            const pc = new Native(config);
            all.push(pc);
            return pc;
          };
          (window as any).RTCPeerConnection.prototype = Native.prototype;
        });
        const page = await context.newPage();
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
      // Layers: the camera is 640x360, sent as 640x360, 320x180 and 160x90 (rids f, h, q); Chromium sends only
      // the first two at this camera size. The widest layer sent comes first; a small tile (configure
      // substream 0) gets the narrowest sent. Not checked yet: back up to the widest for a large tile. Janus
      // 1.1.2 stayed on the middle layer for 20 s after `configure` substream 2 (its PLIs reached the middle
      // layer's encoder, not the top one's), also when the small tile had asked for the middle layer.
      const sent = async () => {
        const widths = await pages[1].evaluate(async () => {
          const out: number[] = [];
          for (const pc of (window as any).__pcs as RTCPeerConnection[]) {
            (await pc.getStats()).forEach((r: any) => {
              if (r.type === 'outbound-rtp' && r.kind === 'video' && r.frameWidth) out.push(r.frameWidth);
            });
          }
          return out;
        });
        return { widest: Math.max(...widths), narrowest: Math.min(...widths), layers: widths.length };
      };
      await expect.poll(async () => (await sent()).layers, { timeout: 20_000, message: 'p1 sends two layers or more' }).toBeGreaterThanOrEqual(2);
      const { widest, narrowest } = await sent();
      console.log(`p1 sends layers from ${narrowest} to ${widest} pixels wide`);
      const width = async () => (await decodedFrom(pages[0], ids[1])).width;
      await expect.poll(width, { timeout: 20_000, message: 'the widest layer at first' }).toBe(widest);
      const want = (w: number, h: number) => pages[0].evaluate(({ p, w, h }) => (window as any).wasmBindings.nonstopJanusProbeWant(p, w, h), { p: ids[1], w, h });
      await want(160, 90);
      const switched = Date.now();
      await expect.poll(width, { timeout: 20_000, message: 'the narrowest layer for a small tile' }).toBe(narrowest);
      console.log(`p0 decodes the narrow layer ${Date.now() - switched} ms after asking`);
    } finally {
      await janus?.stop();
      await net.destroy();
    }
  });
});
