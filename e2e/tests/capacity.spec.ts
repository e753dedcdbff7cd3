import { expect, test } from '../support/fixtures';

test('a join beyond the room capacity is refused with the room-full message', async ({ participant, startServer, room }) => {
  const server = await startServer({ capacity: 2 });
  const ada = await participant('Ada', { server });
  const grace = await participant('Grace', { server });
  const linus = await participant('Linus', { server });
  await ada.join(room);
  await grace.join(room);
  await ada.expectParticipantCount(2);

  await linus.gotoRoom(room);
  await linus.clickJoin();
  await expect(linus.joinError).toBeVisible({ timeout: 15_000 });
  await expect(linus.joinError).toHaveRole('alert');
  await expect(linus.joinError).toContainText(/full/i);
  await expect(linus.stage).toHaveCount(0);

  // The two inside are undisturbed.
  await ada.expectParticipantCount(2);
  await grace.expectParticipantCount(2);
});

test('without an SFU, a join beyond the mesh limit is refused with a message saying why', async ({
  participant,
  startServer,
  room,
}) => {
  // No Janus flags: this server has no SFU, so a call stays a full mesh of at most --mesh-limit people.
  const server = await startServer({ meshLimit: 2 });
  const ada = await participant('Ada', { server });
  const grace = await participant('Grace', { server });
  const linus = await participant('Linus', { server });
  await ada.join(room);
  await grace.join(room);
  await ada.expectParticipantCount(2);

  await linus.gotoRoom(room);
  await linus.clickJoin();
  await expect(linus.joinError).toBeVisible({ timeout: 15_000 });
  await expect(linus.joinError).toHaveRole('alert');
  await expect(linus.joinError).toContainText('limited to 2 participants');
  await expect(linus.joinError).toContainText('no SFU');
  await expect(linus.stage).toHaveCount(0);
  await ada.expectParticipantCount(2);
  await grace.expectParticipantCount(2);
});
