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
