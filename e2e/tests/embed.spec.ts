import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { expect, test } from '../support/fixtures';
import { expectMediaFlowing } from '../support/media';
import { api, meetingToken, withPrivateRoom } from '../support/rooms-api';
import { freePort } from '../support/server';

/**
 * Which sites may show the meeting page in a frame (`--embed-origin`): a host page on a second origin
 * frames it where the server names that origin, and the browser refuses the frame where it does not.
 */

/** Serves `html` for every path on 127.0.0.1:`port` (a second origin); resolves to a function that stops it. */
async function serveHtml(port: number, html: string | Buffer): Promise<() => Promise<void>> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A host page that frames `appUrl` by hand, on 127.0.0.1:`port`. */
function hostPage(port: number, appUrl: string): Promise<() => Promise<void>> {
  return serveHtml(port, `<!doctype html><title>Host</title><h1>Host page</h1>
<iframe src="${appUrl}" allow="camera; microphone; display-capture; autoplay" width="800" height="600"></iframe>`);
}

test('only a site named with --embed-origin can frame the meeting page', async ({ participant, startServer, room }) => {
  const port = await freePort();
  const hostOrigin = `http://127.0.0.1:${port}`;
  const allowing = await startServer({ extraArgs: ['--embed-origin', hostOrigin] });
  const refusing = await startServer({});

  const visitor = await participant('Visitor', { server: allowing });
  const frame = visitor.page.frameLocator('iframe');
  const joinButton = frame.getByRole('button', { name: 'Join meeting', exact: true });

  // Named: the pre-join page shows inside the host's frame.
  let stop = await hostPage(port, `${allowing.url}/${room}`);
  try {
    await visitor.page.goto(hostOrigin);
    await expect(joinButton).toBeVisible({ timeout: 15_000 });
  } finally {
    await stop();
  }

  // Not named: the same host page gets no meeting page in its frame.
  stop = await hostPage(port, `${refusing.url}/${room}`);
  try {
    const served = refusing.url.replace('http://', '');
    const response = visitor.page.waitForResponse((r) => r.url().includes(served));
    await visitor.page.goto(hostOrigin);
    const blocked = await response;
    expect(blocked.headers()['content-security-policy']).toBe("frame-ancestors 'none'");
    await expect(visitor.page.getByRole('heading', { name: 'Host page' })).toBeVisible();
    // Given the time the allowed frame needed, still nothing of the app in it.
    await visitor.page.waitForTimeout(3_000);
    await expect(joinButton).toHaveCount(0);
  } finally {
    await stop();
  }
});

/** The example host page (e2e/examples/embed-host.html), which uses embed.js, on 127.0.0.1:`port`. */
function exampleHost(port: number): Promise<() => Promise<void>> {
  return serveHtml(port, fs.readFileSync(path.join(__dirname, '..', 'examples', 'embed-host.html')));
}

test('a site embeds a private room with embed.js: joins with a token, hears of others, mutes, leaves and comes back; deleting the room ends both calls', async ({ participant, startServer, room, browserName }, testInfo) => {
  const port = await freePort();
  const hostOrigin = `http://127.0.0.1:${port}`;
  const server = await withPrivateRoom(startServer, room, testInfo, ['--embed-origin', hostOrigin]);
  const stop = await exampleHost(port);
  try {
    const host = await participant('Host', { server });
    const meeting = `${server.url}/${room}`;
    const token = await meetingToken(server, room, 'Embedded');
    await host.page.goto(`${hostOrigin}/embed-host.html?meeting=${encodeURIComponent(meeting)}&token=${token}&leave=0&theme=light`);
    type Event = { type: string; participant?: number; name?: string; message?: string };
    const events = () => host.page.evaluate(() => (window as any).events as Event[]);
    const count = async (type: string) => (await events()).filter((e) => e.type === type).length;
    const last = async (type: string) => (await events()).filter((e) => e.type === type).pop();
    await expect.poll(() => count('ready'), { timeout: 15_000, message: 'host page: ready' }).toBe(1);
    const frame = host.page.frameLocator('iframe');

    // Joined by the host page's own button, under the token's name.
    await host.page.click('#join');
    await expect.poll(() => count('joined'), { timeout: 20_000 }).toBe(1);
    const embeddedId = (await last('joined'))!.participant!;
    expect(await last('joined')).toMatchObject({ name: 'Embedded' });

    // A second person joins: announced to the host page, and media flows both ways.
    const bob = await participant('Bob', { server });
    const bobLink = `${room}?t=${await meetingToken(server, room, 'Bob')}`;
    await bob.gotoRoom(bobLink);
    await bob.clickJoin();
    const bobId = await bob.waitInCall();
    await expect.poll(() => count('participant-joined'), { timeout: 10_000 }).toBe(1);
    expect(await last('participant-joined')).toMatchObject({ participant: bobId, name: 'Bob' });
    await expectMediaFlowing(bob, { remotes: 1 });
    await expect
      .poll(() => frame.locator(`[data-testid="tile"][data-participant="${bobId}"] video`).evaluate((v: HTMLVideoElement) => v.videoWidth), { timeout: 20_000 })
      .toBeGreaterThan(0);

    // What the tiles show reaches the host page too: Bob's connection quality, and (Chromium's fake
    // microphones beep) who speaks.
    type Quality = Event & { level?: string };
    await expect
      .poll(async () => ((await events()) as Quality[]).some((e) => e.type === 'network-quality' && e.participant === bobId && /^(good|fair|poor)$/.test(e.level ?? '')), { timeout: 15_000, message: "network-quality for Bob's link" })
      .toBe(true);
    if (browserName === 'chromium') {
      await expect
        .poll(async () => (await events()).some((e) => e.type === 'active-speaker' && [bobId, embeddedId].includes(e.participant!)), { timeout: 15_000, message: 'active-speaker' })
        .toBe(true);
    }

    // What the host configured: no Leave button of the call's own, the light theme.
    await expect(frame.getByRole('button', { name: 'Mute microphone' })).toBeVisible();
    await expect(frame.getByRole('button', { name: 'Leave meeting' })).toBeHidden();
    expect(await frame.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(244, 245, 247)');

    // The host page's switches (setMicrophone, setCamera) reach the call: Bob sees both go off.
    await host.page.uncheck('#microphone');
    await host.page.uncheck('#camera');
    await expect(bob.tileOf(embeddedId).getByTestId('mic-off')).toBeVisible();
    await expect(bob.tileOf(embeddedId).getByTestId('camera-off')).toBeVisible();

    // The host page leaves and joins again: left, then joined, and Bob sees it go and come back.
    await host.page.click('#leave');
    await expect.poll(() => count('left'), { timeout: 10_000 }).toBe(1);
    await expect(bob.remoteTiles).toHaveCount(0, { timeout: 5_000 });
    await host.page.click('#join');
    await expect.poll(() => count('joined'), { timeout: 20_000 }).toBe(2);
    await expect(bob.remoteTiles).toHaveCount(1, { timeout: 10_000 });
    await expect.poll(() => count('participant-joined')).toBe(2);

    // Deleted through the API: both calls end with the reason shown, and the host page hears it.
    const [deleted, body] = await api(server, 'DELETE', `/rooms/${room}`);
    expect(deleted, JSON.stringify(body)).toBe(200);
    await expect(bob.alerts.filter({ hasText: 'its room was deleted' })).toBeVisible();
    await expect(frame.getByRole('alert').filter({ hasText: 'its room was deleted' })).toBeVisible();
    await expect.poll(() => count('left'), { timeout: 10_000 }).toBe(2);
    expect((await events()).filter((e) => e.type === 'error').map((e) => e.message)).toContainEqual(expect.stringContaining('its room was deleted'));
    const order = (await events()).map((e) => e.type).filter((t) => ['ready', 'joined', 'participant-joined', 'left'].includes(t));
    expect(order).toEqual(['ready', 'joined', 'participant-joined', 'left', 'joined', 'participant-joined', 'left']);
  } finally {
    await stop();
  }
});
