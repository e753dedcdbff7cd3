/**
 * Per-link quality adaptation (issue 3) over real, rate-limited links: every participant is a browser of the
 * project's kind in its own network namespace (support/topology.ts), the server runs in the hub.
 * Links send and receive on separate transceivers, so the controller sets per-link encodings in Firefox as in
 * Chromium (Firefox re-creates a transceiver's receivers on each change of its video encoding, see
 * core/src/adaptation/sender_update.rs).
 */
import { test, expect } from '../support/fixtures';
import { createTopology, type Topology } from '../support/topology';
import { startTopologyCall } from '../support/topology-call';
import { expectMediaFlowing } from '../support/media';
import { formatTrace, linkCounters, measure, senderTrace, watchFreezes } from '../support/link-stats';
import type { Page } from '@playwright/test';

function call(net: Topology, browser: 'chromium' | 'firefox', room: string, names: string[], logFile: string, viewport = { width: 800, height: 600 }, adapt = true) {
  return startTopologyCall(net, room, names, { logFile, viewport, adapt, browser });
}

/** A useful frame rate: the fake camera sends 15 fps. */
const USEFUL_FPS = 10;

/** Frames per second each of `pages` decodes from participant `from`, over `ms`. */
async function decodedFpsFrom(pages: Page[], from: string, ms = 3_000): Promise<number[]> {
  const windows = await measure(pages, ms);
  return windows.map((w) => w[from]?.decodedFps ?? 0);
}

test.describe('quality adaptation', () => {
  test.describe.configure({ timeout: 240_000 });

  test('a tile made small on the receiver lowers what the sender sends it', async ({ room, kind }, testInfo) => {
    const net = await createTopology({ participants: 2 });
    try {
      const { people, ids } = await call(net, kind, room, ['Sender', 'Viewer'], testInfo.outputPath('server.log'), { width: 1280, height: 720 });
      const [sender, viewer] = people;
      const viewerId = String(ids[1]);
      const width = async () => (await linkCounters(sender.page))[viewerId]?.frameWidth ?? 0;
      // Large tile: the sender sends (close to) its full 640x360.
      await expect.poll(width, { timeout: 30_000, message: 'frameWidth to the viewer, large tile' }).toBeGreaterThanOrEqual(480);
      const large = await width();
      // The viewer shrinks its window: the sender's tile there is a thumbnail.
      await viewer.page.setViewportSize({ width: 320, height: 240 });
      await expect.poll(width, { timeout: 30_000, message: 'frameWidth to the viewer, small tile' }).toBeLessThanOrEqual(large / 2);
      console.log(`controller on: ${large} px wide to a large tile, ${await width()} px to a thumbnail`);
    } finally {
      await net.destroy();
    }
  });

  test('control, controller off: a thumbnail still gets the full picture', async ({ room, kind }, testInfo) => {
    const net = await createTopology({ participants: 2 });
    try {
      const { people, ids } = await call(net, kind, room, ['Sender', 'Viewer'], testInfo.outputPath('server.log'), { width: 1280, height: 720 }, false);
      const [sender, viewer] = people;
      const viewerId = String(ids[1]);
      const width = async () => (await linkCounters(sender.page))[viewerId]?.frameWidth ?? 0;
      await expect.poll(width, { timeout: 30_000, message: 'frameWidth to the viewer, large tile' }).toBeGreaterThanOrEqual(480);
      const large = await width();
      await viewer.page.setViewportSize({ width: 320, height: 240 });
      // Long enough for the controller (were it on) to have halved it twice over (see the test above).
      await viewer.page.waitForTimeout(15_000);
      const small = await width();
      console.log(`controller off: ${large} px wide to a large tile, ${small} px to a thumbnail`);
      expect(small, 'frameWidth to the thumbnail without the controller').toBeGreaterThan(large / 2);
    } finally {
      await net.destroy();
    }
  });

  test('one uplink capped at 600 kb/s: its video fits, its audio flows, no long freezes', async ({ room, kind }, testInfo) => {
    test.skip(kind === 'firefox', 'not run in Firefox: four participants sending 640x360 already fill two cores in Chromium');
    test.setTimeout(300_000);
    const net = await createTopology({ participants: 4 });
    try {
      // Twelve 640x360 streams on two cores: wait for the links and audio, not for every video to be smooth
      // before the cap (a starved machine's delays read as congestion to the controller too).
      const { people, ids } = await startTopologyCall(net, room, ['Capped', 'Ada', 'Grace', 'Linus'], {
        logFile: testInfo.outputPath('server.log'),
        waitForMedia: false,
      });
      for (const p of people) await expectMediaFlowing(p, { remotes: 3, video: false, timeout: 60_000 });
      const [capped, ...others] = people;
      const cappedId = String(ids[0]);
      const othersPages = others.map((p) => p.page);
      // Video from the capped participant flows to everyone before the cap.
      await expect
        .poll(async () => Math.min(...(await decodedFpsFrom(othersPages, cappedId))), { timeout: 60_000, message: 'fps decoded from the capped participant before the cap (least of 3)' })
        .toBeGreaterThan(0);
      net.capUplink(0, 600);
      // The controller steps down: all of its video under the cap, and every receiver back at a useful rate.
      const videoSum = async () => Object.values((await measure([capped.page], 3_000))[0]).reduce((s, r) => s + r.videoSendKbps, 0);
      await expect.poll(videoSum, { timeout: 60_000, intervals: [0], message: "capped participant's outbound video, kb/s" }).toBeLessThan(600);
      await expect
        .poll(async () => Math.min(...(await decodedFpsFrom(othersPages, cappedId))), { timeout: 60_000, intervals: [0], message: 'fps decoded from the capped participant under the cap (least of 3)' })
        .toBeGreaterThanOrEqual(USEFUL_FPS);
      const [window, ...received] = await Promise.all([
        measure([capped.page], 10_000).then((w) => w[0]),
        ...others.map((p) => watchFreezes(p.page, 10_000)),
      ]);
      const sent = Object.values(window);
      const sum = sent.reduce((s, r) => s + r.videoSendKbps, 0);
      const audioSum = sent.reduce((s, r) => s + r.audioSendKbps, 0);
      console.log(`capped: video ${sent.map((r) => r.videoSendKbps.toFixed(0)).join(' + ')} = ${sum.toFixed(0)} kb/s, audio ${audioSum.toFixed(0)} kb/s`);
      for (let i = 0; i < others.length; i++) {
        const r = received[i][cappedId];
        console.log(`${others[i].name} from capped: audio ${r.audioPackets} packets, ${r.decodedFps.toFixed(1)} fps, ${r.freezes} freezes, ${r.freezeSeconds.toFixed(2)} s, longest ${r.longestFreeze.toFixed(2)} s`);
      }
      await capped.button('Show statistics').click();
      console.log('capped participant:', (await capped.page.getByTestId('stats-panel').innerText()).replace(/\n/g, ' | '));
      expect(sum, "sum of the capped participant's outbound video, kb/s").toBeLessThan(600);
      for (let i = 0; i < others.length; i++) {
        const r = received[i][cappedId];
        expect(r.audioPackets, `${others[i].name}: audio packets from the capped participant in 10 s`).toBeGreaterThan(300);
        // Up to 2 s: 42 receivers measured over the CI runs froze at most 0.31 s (median) and 1.32 s (worst), the
        // worst on pages decoding 6 fps or less, starved of CPU by twelve 640x360 streams on two cores (1 s failed 2
        // of the last 3 runs that way). Video the cap could not carry would freeze for several seconds, on every page.
        expect(r.longestFreeze, `${others[i].name}: longest freeze of the capped participant's video, s`).toBeLessThanOrEqual(2);
        expect(r.decodedFps, `${others[i].name}: frames per second decoded from the capped participant`).toBeGreaterThanOrEqual(USEFUL_FPS);
      }
      // Video kept on every link, its loss and delay held down: the capped participant's indicator is not "poor"
      // (poor means video off for bandwidth, 10 % loss or 600 ms RTT, none of which the controller may leave).
      await expect(capped.localTile.getByTestId('quality')).toHaveAttribute('data-level', /^(good|fair)$/);
    } finally {
      await net.destroy();
    }
  });

  test('only the A-C path capped at 150 kb/s: A-B stays high, A-C keeps video at a useful rate', async ({ room, kind }, testInfo) => {
    // Firefox's VP8 does not send 320x180 under about 100 kb/s whatever maxBitrate says (measured 100 to 140 with
    // the cap at 60 to 80): A's controller sees its encoder overshoot and sends A->C at 160x90 instead
    // (core/src/adaptation/link.rs, EncoderFloors: over its cap by 5 % + 5 kb/s for 2 s).
    test.setTimeout(180_000);
    const net = await createTopology({ participants: 3 });
    try {
      const { people, ids } = await call(net, kind, room, ['London', 'Paris', 'Remote'], testInfo.outputPath('server.log'), { width: 1280, height: 720 });
      const [a, , pc] = people;
      const [aId, b, c] = ids.map(String);
      // Both of A's links carry video before the cap, and C decodes it.
      await expect
        .poll(async () => Object.values(await linkCounters(a.page)).filter((l) => l.frameHeight > 0).length, { timeout: 60_000, message: "A's links sending video" })
        .toBe(2);
      await expect.poll(async () => (await decodedFpsFrom([pc.page], aId))[0], { timeout: 30_000, intervals: [0], message: 'fps C decodes from A before the cap' }).toBeGreaterThan(0);
      net.capPath(0, 2, 150);
      // A-C steps down under the cap.
      const toC = async () => (await measure([a.page], 3_000))[0][c].videoSendKbps;
      await expect.poll(toC, { timeout: 60_000, intervals: [0], message: 'A->C video, kb/s' }).toBeLessThan(150);
      // 150 kb/s carries thin audio and the smallest video: once converged, C keeps getting A's video at a useful
      // rate for 30 s (on average; no 3 s window without frames).
      await expect.poll(async () => (await decodedFpsFrom([pc.page], aId))[0], { timeout: 60_000, intervals: [0], message: 'fps C decodes from A under the cap' }).toBeGreaterThanOrEqual(USEFUL_FPS);
      const fpsAtC: number[] = [];
      const trace = senderTrace(a.page, c, 30_000);
      // A->B too, through the window it is measured in: printed only when it falls short.
      // (Caught: a failure before it ends closes the page, and its rejection would hide that failure.)
      const traceB = senderTrace(a.page, b, 41_000).catch(() => []);
      for (let i = 0; i < 10; i++) fpsAtC.push((await decodedFpsFrom([pc.page], aId))[0]);
      console.log(`A->C, what A's controller set and what the browser did:\n${formatTrace(await trace)}`);
      const window = await measure([a.page], 10_000);
      const now = await linkCounters(a.page);
      if (window[0][b].videoSendKbps <= Math.max(150, 2 * window[0][c].videoSendKbps) || now[b].frameHeight < 360) {
        console.log(`A->B fell short; what A's controller set and what the browser did:\n${formatTrace(await traceB)}`);
      }
      console.log(`A->B ${window[0][b].videoSendKbps.toFixed(0)} kb/s ${now[b].frameWidth}x${now[b].frameHeight}; A->C ${window[0][c].videoSendKbps.toFixed(0)} kb/s ${now[c].frameWidth}x${now[c].frameHeight}; C decodes ${fpsAtC.map((f) => f.toFixed(1)).join(' ')} fps`);
      expect(fpsAtC.reduce((a, b) => a + b, 0) / fpsAtC.length, 'fps C decodes from A, mean over 30 s').toBeGreaterThanOrEqual(USEFUL_FPS);
      expect(Math.min(...fpsAtC), 'fps C decodes from A, least 3 s window in 30 s').toBeGreaterThan(0);
      expect(window[0][c].videoSendKbps, 'A->C video, kb/s').toBeLessThan(150);
      expect(window[0][b].videoSendKbps, 'A->B video, kb/s').toBeGreaterThan(Math.max(150, 2 * window[0][c].videoSendKbps));
      expect(now[b].frameHeight, 'A->B frame height').toBeGreaterThanOrEqual(360);
      expect(now[c].frameHeight, 'A->C frame height').toBeLessThan(now[b].frameHeight);
      // B is told nothing is wrong; C's link is limited by bandwidth (fair: video kept, at a lower resolution).
      // Chromium's A->C runs this path close to full (its VP8 sends 80 to 100 kb/s at a cap of 80, plus audio and
      // headers), so now and then a burst of loss shows "poor (Packet loss)" for the 5 s an improvement is held:
      // true, and not what is checked here. C's badge must settle on "fair (Low bandwidth)" between bursts.
      const badge = (id: string) => a.tileOf(Number(id)).getByTestId('quality');
      console.log(`A's badges: B ${await badge(b).getAttribute('aria-label')}; C ${await badge(c).getAttribute('aria-label')}`);
      await expect(badge(b)).toHaveAttribute('data-level', 'good');
      const settling = Date.now();
      await expect
        .poll(() => badge(c).getAttribute('aria-label'), { timeout: 40_000, message: "A's badge for C" })
        .toBe('Connection: fair (Low bandwidth)');
      console.log(`C's badge read "fair (Low bandwidth)" after ${((Date.now() - settling) / 1000).toFixed(1)} s more`);
      await expect(badge(b)).toHaveAttribute('data-level', 'good');
    } finally {
      await net.destroy();
    }
  });
});
