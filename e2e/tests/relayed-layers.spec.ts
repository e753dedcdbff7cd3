/**
 * Which simulcast layer each receiver gets through Janus (issue 9): the one its tile needs, lowered to what its
 * own downlink carries. Three participants, relayed from the start (`--relay-above 2`), each with a 640x360
 * camera (layers 640, 320 and 160 wide) and a 1280x720 window, so that every remote tile needs the top layer.
 * Linus is the publisher watched: Chromium (simulcast through `sendEncodings`), or in the firefox project
 * Firefox (simulcast through `setParameters`).
 *
 * - Ada's window shrinks: her tile of Linus gets smaller and the width she decodes drops; it grows back and the
 *   top layer comes back.
 * - Grace's downlink is capped at 500 kbit/s (two top layers and two microphones need about 1.3 Mb/s): she gets
 *   lower layers of Linus than Ada, who has no cap, and her video keeps coming.
 *
 * And which layers a publisher sends: Linus's uplink is policed to 400 kbit/s (what goes over is dropped, so the
 * SFU reports the loss): his camera's top layer is turned off, and the middle one capped, to fit what gets
 * through; Ada, who watches him in a big tile, gets a lower layer and her video keeps coming. The police go:
 * the top layer is sent again and Ada gets it. Then Linus's uplink loses half its packets at random: that is
 * his path, not Ada's downlink, so Ada keeps Grace's top layer all along (her downlink counts the loss of the
 * median stream, not of all together).
 */
import { test, expect } from '../support/fixtures';
import { CAPPED_TEST_VIDEO, type Topology } from '../support/topology';
import { joinInNamespace } from '../support/topology-call';
import { remoteVideoWidths } from '../support/media';
import { layerCaps, recordPeerConnections, sentLayers } from '../support/peer-connections';
import { expectCommitted, expectDecoding, inCallWithJanus, watchGaps } from '../support/relayed';
import type { Page } from '@playwright/test';

const BIG = { width: 1280, height: 720 };
const SMALL = { width: 480, height: 320 };
const TOP_WIDTH = CAPPED_TEST_VIDEO.width;

/** The width `page` decodes `id`'s camera at, once a second for `seconds`. */
async function widthsOver(page: Page, id: number, seconds: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < seconds; i++) {
    out.push((await remoteVideoWidths(page))[String(id)] ?? 0);
    await page.waitForTimeout(1_000);
  }
  return out;
}

/**
 * Ada, Grace (Chromium) and Linus (`kind`, his connections recorded) in `room`, relayed, each decoding the two
 * others: 640x360 cameras, 1280x720 windows.
 */
async function threeRelayed(net: Topology, room: string, kind: 'chromium' | 'firefox') {
  const opts = { video: CAPPED_TEST_VIDEO, viewport: BIG };
  const ada = await joinInNamespace(net, 0, 'Ada', room, opts);
  const grace = await joinInNamespace(net, 1, 'Grace', room, opts);
  const linus = await joinInNamespace(net, 2, 'Linus', room, { ...opts, browser: kind, beforeJoin: recordPeerConnections });
  const people = [ada, grace, linus];
  // (watchGaps also gives expectDecoding its frame counter.)
  for (const p of people) await watchGaps(p.p.page);
  for (const p of people) await expectCommitted(p.signaling, 'relayed', 0, 60_000);
  for (const [i, p] of people.entries()) await expectDecoding(p.p.page, people.filter((o) => o !== p).map((o) => o.id), `p${i} relayed`);
  return { ada, grace, linus };
}

test.describe('Relayed mode: layers', () => {
  test.describe.configure({ timeout: 240_000 });

  test('a receiver gets the layer its tile needs, and a lower one when its downlink cannot carry more', async ({ kind }, testInfo) => {
    await inCallWithJanus(testInfo, ['--relay-above', '2'], async (net) => {
      const { ada, grace, linus } = await threeRelayed(net, 'relayed-layers', kind);

      const sent = async () => Object.entries(await sentLayers(linus.p.page)).map(([rid, l]) => `${rid} ${l.width} px ${l.fps} fps ${l.bytes} B ${l.limit}`).join(', ');
      console.log(`Linus (${kind}) sends: ${await sent()}`);
      // Big tiles: the top layer.
      for (const p of [ada, grace]) {
        await expect.poll(async () => (await remoteVideoWidths(p.p.page))[String(linus.id)], { timeout: 20_000, message: `${p.p.name} decodes Linus's top layer` }).toBe(TOP_WIDTH);
      }

      // Ada's tiles shrink: a lower layer; they grow again: the top layer is back.
      await ada.p.page.setViewportSize(SMALL);
      let t = Date.now();
      await expect.poll(async () => (await remoteVideoWidths(ada.p.page))[String(linus.id)], { timeout: 20_000, message: 'a small tile gets a lower layer' }).toBeLessThan(TOP_WIDTH);
      console.log(`small tile: Ada decodes Linus at ${(await remoteVideoWidths(ada.p.page))[String(linus.id)]} px wide after ${Date.now() - t} ms`);
      await ada.p.page.setViewportSize(BIG);
      t = Date.now();
      await expect.poll(async () => (await remoteVideoWidths(ada.p.page))[String(linus.id)], { timeout: 20_000, message: 'a big tile again: the top layer again' }).toBe(TOP_WIDTH);
      console.log(`big tile again: the top layer after ${Date.now() - t} ms`);

      // Grace's downlink fills: she asks for less, Ada does not.
      net.capDownlink(1, 500);
      t = Date.now();
      await expect.poll(async () => (await remoteVideoWidths(grace.p.page))[String(linus.id)], { timeout: 30_000, message: 'a capped downlink gets a lower layer' }).toBeLessThan(TOP_WIDTH);
      console.log(`downlink capped at 500 kbit/s: Grace decodes Linus below the top layer after ${Date.now() - t} ms`);
      const [graceSaw, adaSaw] = await Promise.all([
        widthsOver(grace.p.page, linus.id, 15),
        widthsOver(ada.p.page, linus.id, 15),
        (async () => {
          for (let i = 0; i < 5; i++) {
            console.log(`Linus sends: ${await sent()}`);
            await linus.p.page.waitForTimeout(3_000);
          }
        })(),
      ]);
      console.log(`over 15 s, Linus's width at Grace (capped): ${graceSaw.join(' ')}; at Ada: ${adaSaw.join(' ')}`);
      expect(Math.max(...graceSaw), 'the capped receiver stays below the top layer').toBeLessThan(TOP_WIDTH);
      expect(Math.min(...adaSaw), 'the receiver without a cap keeps the top layer').toBe(TOP_WIDTH);
      await expectDecoding(grace.p.page, [ada.id, linus.id], 'Grace under the cap');

      // The cap goes: the top layer comes back (after the probes' holds).
      net.clearShaping(1);
      t = Date.now();
      await expect.poll(async () => (await remoteVideoWidths(grace.p.page))[String(linus.id)], { timeout: 75_000, message: 'the cap gone, the top layer again' }).toBe(TOP_WIDTH);
      console.log(`cap removed: Grace decodes Linus's top layer again after ${Date.now() - t} ms`);
    });
  });

  test('a publisher whose uplink loses packets turns its top layer off, and on again once it clears; its loss does not lower what others receive', async ({ kind }, testInfo) => {
    test.setTimeout(360_000);
    await inCallWithJanus(testInfo, ['--relay-above', '2'], async (net) => {
      const { ada, grace, linus } = await threeRelayed(net, 'relayed-uplink', kind);
      const widthAtAda = async (id: number) => (await remoteVideoWidths(ada.p.page))[String(id)];
      await expect.poll(() => widthAtAda(linus.id), { timeout: 20_000, message: "Ada decodes Linus's top layer" }).toBe(TOP_WIDTH);
      const caps = async () => Object.entries(await layerCaps(linus.p.page)).map(([rid, c]) => `${rid} ${c.active ? 'on' : 'off'} ${Math.round(c.maxBitrate / 1000)} kb/s`).join(', ');
      console.log(`Linus (${kind}) before: ${await caps()}`);
      expect((await layerCaps(linus.p.page)).f?.active, 'the top layer is on while the uplink is clear').toBe(true);

      net.policeUplink(2, 400);
      let t = Date.now();
      await expect.poll(async () => (await layerCaps(linus.p.page)).f?.active, { timeout: 45_000, message: 'a lossy uplink turns the top layer off' }).toBe(false);
      console.log(`uplink policed at 400 kbit/s: top layer off after ${Date.now() - t} ms: ${await caps()}`);
      await expect.poll(() => widthAtAda(linus.id), { timeout: 20_000, message: 'Ada gets a lower layer' }).toBeLessThan(TOP_WIDTH);
      await ada.p.page.waitForTimeout(5_000);
      await expectDecoding(ada.p.page, [linus.id], 'Ada while Linus is policed');
      console.log(`Ada decodes Linus at ${await widthAtAda(linus.id)} px; Linus sends: ${Object.entries(await sentLayers(linus.p.page)).map(([rid, l]) => `${rid} ${l.width} px ${l.fps} fps`).join(', ')}`);

      // Back after the hold that failed probes have stretched (up to 24 s), then a raise every 6 s (up to four
      // from the lowest budget): at most 48 s, and 24 s more for each loss report that lands on a probe.
      net.clearShaping(2);
      t = Date.now();
      await expect.poll(async () => (await layerCaps(linus.p.page)).f?.active, { timeout: 120_000, message: 'the uplink clear: the top layer on again' }).toBe(true);
      console.log(`police gone: top layer on after ${Date.now() - t} ms: ${await caps()}`);
      await expect.poll(() => widthAtAda(linus.id), { timeout: 30_000, message: 'Ada gets the top layer again' }).toBe(TOP_WIDTH);
      console.log(`Ada decodes the top layer again ${Date.now() - t} ms after the police went`);

      // Linus's uplink loses at random: his loss reaches Ada through the SFU (with his audio and his video),
      // but her downlink is fine.
      net.dropOutgoingUdp(2, 50);
      const graceAtAda: number[] = [];
      for (let i = 0; i < 20; i++) {
        graceAtAda.push((await widthAtAda(grace.id)) ?? 0);
        await ada.p.page.waitForTimeout(1_000);
      }
      console.log(`Linus losing 50 %: his layers ${await caps()}; Grace's width at Ada over 20 s: ${graceAtAda.join(' ')}; Linus's: ${await widthAtAda(linus.id)}`);
      expect(Math.min(...graceAtAda), "one publisher's loss does not lower what Ada gets of the others").toBe(TOP_WIDTH);
      // Half his packets lost, Linus's picture may freeze (a switch of layers waits for a whole key frame);
      // Grace's does not, and his comes back once his uplink does.
      await expectDecoding(ada.p.page, [grace.id], 'Ada while Linus loses');
      net.clearShaping(2);
      await expectDecoding(ada.p.page, [grace.id, linus.id], 'Ada once Linus no longer loses');
    });
  });
});
