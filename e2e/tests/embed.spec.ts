import * as http from 'node:http';
import { expect, test } from '../support/fixtures';
import { freePort } from '../support/server';

/**
 * Which sites may show the meeting page in a frame (`--embed-origin`): a host page on a second origin
 * frames it where the server names that origin, and the browser refuses the frame where it does not.
 */

/** Serves one host page framing `appUrl` on 127.0.0.1:`port` (a second origin); resolves to a function that stops it. */
async function hostPage(port: number, appUrl: string): Promise<() => Promise<void>> {
  const html = `<!doctype html><title>Host</title><h1>Host page</h1>
<iframe src="${appUrl}" allow="camera; microphone; display-capture; autoplay" width="800" height="600"></iframe>`;
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
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
