/**
 * The signaling server only serves WebSockets to pages of its own origin: a page served from another
 * origin (here a second port on 127.0.0.1) that opens a WebSocket to it is refused (HTTP 403 on the
 * handshake), and nobody in the meeting sees it.
 */
import * as http from 'node:http';
import { expect, test } from '../support/fixtures';
import { freePort } from '../support/server';

/** A page that tries to join `room` on `wsUrl` and writes what happened into #result. */
function intruderPage(wsUrl: string, room: string): string {
  return `<!doctype html><meta charset="utf-8"><title>intruder</title><p id="result">connecting</p>
<script>
  const result = document.getElementById('result');
  const ws = new WebSocket(${JSON.stringify(wsUrl)});
  ws.onopen = () => {
    result.textContent = 'open';
    ws.send(JSON.stringify({ type: 'join', protocol: 1, room: ${JSON.stringify(room)}, name: 'Mallory' }));
  };
  ws.onmessage = (e) => { result.textContent = 'message: ' + e.data; };
  ws.onerror = () => { if (result.textContent === 'connecting') result.textContent = 'error'; };
  ws.onclose = (e) => { result.textContent += ' / closed ' + e.code; };
</script>`;
}

/** A raw WebSocket handshake (fetch may not send `Connection: Upgrade`): status and body. */
function wsHandshake(url: string, origin: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, {
      headers: {
        origin,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

test('a page from another origin cannot join', async ({ participant, room, server, browser }) => {
  const ada = await participant('Ada');
  await ada.join(room);

  const wsUrl = `${server.url.replace('http://', 'ws://')}/ws`;
  const port = await freePort();
  const other = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(intruderPage(wsUrl, room));
  });
  await new Promise<void>((resolve) => other.listen(port, '127.0.0.1', resolve));
  const otherOrigin = `http://127.0.0.1:${port}`;
  try {
    // What the browser does not show: the handshake is refused with 403 and says why.
    const handshake = await wsHandshake(`${server.url}/ws`, otherOrigin);
    expect(handshake.status).toBe(403);
    expect(handshake.body).toContain(otherOrigin);
    // The same handshake from the server's own origin is accepted.
    expect((await wsHandshake(`${server.url}/ws`, server.url)).status).toBe(101);

    // In a browser: the socket never opens, and the meeting never hears of the intruder.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${otherOrigin}/`);
    await expect(page.locator('#result')).toHaveText(/^error \/ closed 1006$/);
    await context.close();
    await ada.expectParticipantCount(1);
    await expect(ada.remoteTiles).toHaveCount(0);
  } finally {
    await new Promise<void>((resolve) => other.close(() => resolve()));
  }
});
