import { expect, test } from '../support/fixtures';
import { expectMediaFlowing } from '../support/media';
import { api, meetingToken, withPrivateRoom } from '../support/rooms-api';

/** The rooms REST API as a developer uses it, and what people in the meeting see of it. */

test('a private room admits meeting-token links under the token\'s name, and deleting it ends the call', async ({ participant, startServer, room }, testInfo) => {
  const server = await withPrivateRoom(startServer, room, testInfo);
  const token = (userName: string) => meetingToken(server, room, userName);

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

test('an owner removes a participant and ends the call for everyone; the others get no such buttons', async ({ participant, startServer, room }, testInfo) => {
  const server = await withPrivateRoom(startServer, room, testInfo);
  const link = async (userName: string, isOwner: boolean) => `${room}?t=${await meetingToken(server, room, userName, isOwner)}`;
  const people = [];
  for (const [name, owner] of [['Ada', true], ['Grace', false], ['Bob', false]] as const) {
    const p = await participant(name, { server });
    const url = await link(name, owner);
    await p.gotoRoom(url);
    await p.clickJoin();
    people.push({ p, id: await p.waitInCall(), url });
  }
  const [ada, grace, bob] = people;
  await expect(ada.p.remoteTiles).toHaveCount(2);
  await expect(grace.p.remoteTiles).toHaveCount(2);

  // Only the owner has the buttons, and not on her own tile.
  const removeOn = (who: typeof ada, id: number) => who.p.tileOf(id).getByTestId('remove');
  await expect(removeOn(ada, grace.id)).toHaveAttribute('aria-label', 'Remove Grace from the call');
  await expect(removeOn(ada, bob.id)).toHaveCount(1);
  await expect(ada.p.localTile.getByTestId('remove')).toHaveCount(0);
  await expect(ada.p.page.getByTestId('end-for-everyone')).toBeVisible();
  await expect(grace.p.page.getByTestId('remove').filter({ visible: true })).toHaveCount(0);
  await expect(grace.p.page.getByTestId('end-for-everyone')).toBeHidden();

  // Asked first: cancelled, nothing happens.
  const dialogs: string[] = [];
  ada.p.page.once('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await removeOn(ada, bob.id).click();
  await ada.p.page.waitForTimeout(1_000);
  expect(dialogs).toEqual(['Remove Bob from the call?']);
  await expect(ada.p.remoteTiles).toHaveCount(2);

  // Confirmed: Bob is told why his call ended; the others see his tile go.
  ada.p.page.once('dialog', (d) => void d.accept());
  await removeOn(ada, bob.id).click();
  await expect(bob.p.alerts.filter({ hasText: "owner removed you" })).toBeVisible();
  await expect(bob.p.remoteTiles).toHaveCount(0);
  for (const who of [ada, grace]) await expect(who.p.tileOf(bob.id)).toHaveCount(0, { timeout: 5_000 });
  await expectMediaFlowing(grace.p, { remotes: 1 });
  // Removed for good: the server does not hand his session back, and his link no longer admits him to this call.
  await bob.p.page.waitForTimeout(2_000);
  const [, presence] = await api(server, 'GET', `/rooms/${room}/presence`);
  expect(presence.participants.map((p: { name: string }) => p.name).sort()).toEqual(['Ada', 'Grace']);
  await bob.p.gotoRoom(bob.url);
  await bob.p.clickJoin();
  await expect(bob.p.joinError).toContainText('removed you from this call');
  await expect(grace.p.remoteTiles).toHaveCount(1);

  // End for everyone: both calls end, with the reason shown.
  ada.p.page.once('dialog', (d) => void d.accept());
  await ada.p.page.getByTestId('end-for-everyone').click();
  for (const who of [ada, grace]) {
    await expect(who.p.alerts.filter({ hasText: 'ended the call for everyone' })).toBeVisible();
    await expect(who.p.remoteTiles).toHaveCount(0);
  }
});
