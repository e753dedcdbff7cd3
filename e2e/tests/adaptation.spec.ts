/**
 * Per-link quality adaptation (issue 3) over real, rate-limited links: every participant is a Chromium in
 * its own network namespace (support/topology.ts), the server runs in the hub. Chromium only (Playwright
 * reaches Chromium over a pipe, which survives `nsenter`; Firefox's BiDi port would not).
 */
import { test, expect, MeetingPage } from '../support/fixtures';
import { createTopology, type Topology } from '../support/topology';
import { expectMediaFlowing } from '../support/media';
import { linkCounters, measure } from '../support/link-stats';

test.skip(({ browserName }) => browserName !== 'chromium', 'participants in namespaces run Chromium only');

/** Starts `n` participants in a fresh topology and joins them to `room` in order; returns pages and ids. */
async function call(net: Topology, room: string, names: string[], logFile: string, viewport = { width: 800, height: 600 }) {
  await net.startServer({ logFile });
  const people: MeetingPage[] = [];
  for (let i = 0; i < names.length; i++) {
    const browser = await net.launchChromium(i);
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    const p = new MeetingPage(page, net.url, names[i]);
    await p.join(room);
    people.push(p);
  }
  const ids = await Promise.all(people.map((p) => p.id()));
  for (const p of people) await expectMediaFlowing(p, { remotes: names.length - 1, timeout: 60_000 });
  return { people, ids };
}

test.describe('quality adaptation', () => {
  test.describe.configure({ timeout: 240_000 });

  test('a tile made small on the receiver lowers what the sender sends it', async ({ room }, testInfo) => {
    const net = await createTopology({ participants: 2 });
    try {
      const { people, ids } = await call(net, room, ['Sender', 'Viewer'], testInfo.outputPath('server.log'), { width: 1280, height: 720 });
      const [sender, viewer] = people;
      const viewerId = String(ids[1]);
      // Large tile: the sender sends (close to) its full 640x360.
      await expect
        .poll(async () => (await linkCounters(sender.page))[viewerId]?.frameWidth ?? 0, { timeout: 30_000, message: 'frameWidth to the viewer, large tile' })
        .toBeGreaterThanOrEqual(480);
      const large = (await linkCounters(sender.page))[viewerId].frameWidth;
      // The viewer shrinks its window: the sender's tile there is a thumbnail.
      await viewer.page.setViewportSize({ width: 320, height: 240 });
      await sender.button('Show statistics').click();
      await viewer.button('Show statistics').click();
      await sender.page.waitForTimeout(5000);
      console.log('SENDER', await sender.page.getByTestId('stats-panel').innerText());
      console.log('SENDERLOG', sender.consoleLines.join('\n'));
      console.log('VIEWERLOG', viewer.consoleLines.join('\n'));
      console.log('VIEWER tile', await viewer.page.evaluate(() => [...document.querySelectorAll('[data-testid=tile] video')].map((v) => JSON.stringify(v.getBoundingClientRect()))));
      await expect
        .poll(async () => (await linkCounters(sender.page))[viewerId]?.frameWidth ?? 0, { timeout: 30_000, message: 'frameWidth to the viewer, small tile' })
        .toBeLessThanOrEqual(large / 2);
      for (const p of people) await p.page.context().close();
    } finally {
      await net.destroy();
    }
  });
});
