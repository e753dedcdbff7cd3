import * as fs from 'node:fs';
import { expect, test } from '../support/fixtures';
import { expectMediaFlowing } from '../support/media';
import type { NonstopServer } from '../support/server';

/** The rooms REST API as a developer uses it, and what people in the meeting see of it. */

const KEY = 'e2e-api-key-0123456789abcdef';

/** A request to the server's API with the test key: [status, JSON body]. */
async function api(server: NonstopServer, method: string, path: string, body?: object): Promise<[number, any]> {
  const res = await fetch(`${server.url}/api${path}`, {
    method,
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return [res.status, await res.json()];
}

test('a private room admits meeting-token links under the token\'s name, and deleting it ends the call', async ({ participant, startServer, room }, testInfo) => {
  const keys = testInfo.outputPath('api-keys');
  fs.writeFileSync(keys, `${KEY}\n`);
  const server = await startServer({
    extraArgs: ['--api-key-file', keys, '--database-url', `sqlite:${testInfo.outputPath('nonstop.db')}`],
  });
  const [made, madeRoom] = await api(server, 'POST', '/rooms', { name: room, privacy: 'private' });
  expect(made, JSON.stringify(madeRoom)).toBe(201);
  const token = async (userName: string) => {
    const [status, body] = await api(server, 'POST', '/meeting-tokens', { room, user_name: userName });
    expect(status, JSON.stringify(body)).toBe(201);
    return body.token as string;
  };

  // Without a token: told the meeting is private, kept on the pre-join screen.
  const eve = await participant('Eve', { server });
  await eve.gotoRoom(room);
  await eve.clickJoin();
  await expect(eve.joinError).toContainText('private');
  await expect(eve.stage).toHaveCount(0);

  // With their links: in, and each sees the other under the name the token gives.
  const ada = await participant('Ada', { server });
  const grace = await participant('Grace', { server });
  await ada.gotoRoom(`${room}?t=${await token('Ada Lovelace')}`);
  await ada.clickJoin();
  const adaId = await ada.waitInCall();
  await grace.gotoRoom(`${room}?t=${await token('Grace Hopper')}`);
  await grace.clickJoin();
  const graceId = await grace.waitInCall();
  // Their own tiles too: the name the room knows, not the one typed.
  await expect(ada.localTile.locator('.tile-name')).toContainText('Ada Lovelace');
  await expect(grace.localTile.locator('.tile-name')).toContainText('Grace Hopper');
  await expect(ada.tileOf(graceId).locator('.tile-name')).toContainText('Grace Hopper');
  await expect(grace.tileOf(adaId).locator('.tile-name')).toContainText('Ada Lovelace');
  await expectMediaFlowing(ada, { remotes: 1 });
  await expectMediaFlowing(grace, { remotes: 1 });

  const [status, presence] = await api(server, 'GET', `/rooms/${room}/presence`);
  expect(status).toBe(200);
  expect(presence.participants.map((p: { name: string }) => p.name).sort()).toEqual(['Ada Lovelace', 'Grace Hopper']);

  // Deleted through the API: the call ends on both pages with the reason shown, and nobody rejoins.
  const [deleted, body] = await api(server, 'DELETE', `/rooms/${room}`);
  expect(deleted, JSON.stringify(body)).toBe(200);
  expect(body.ended_for).toBe(2);
  for (const page of [ada, grace]) {
    await expect(page.alerts.filter({ hasText: 'its room was deleted' })).toBeVisible();
    await expect(page.remoteTiles).toHaveCount(0);
  }
  // Given time to (wrongly) reconnect, the room stays empty.
  await ada.page.waitForTimeout(3_000);
  const [afterStatus] = await api(server, 'GET', `/rooms/${room}/presence`);
  expect(afterStatus, 'no call and no room any more').toBe(404);
});
