import { expect, test } from '../support/fixtures';

test('a participant who clicks Leave disappears from the others within 2 s', async ({ participant, room }) => {
  const ada = await participant('Ada');
  const grace = await participant('Grace');
  const linus = await participant('Linus');
  await ada.join(room);
  await grace.join(room);
  const linusId = await linus.join(room);
  await expect(ada.tileOf(linusId)).toBeVisible({ timeout: 20_000 });
  await expect(grace.tileOf(linusId)).toBeVisible({ timeout: 20_000 });

  await linus.leave();
  await Promise.all([
    expect(ada.tileOf(linusId)).toHaveCount(0, { timeout: 2_000 }),
    expect(grace.tileOf(linusId)).toHaveCount(0, { timeout: 2_000 }),
  ]);
  await ada.expectParticipantCount(2);
  await grace.expectParticipantCount(2);

  await expect(linus.page.getByText('You left the meeting')).toBeVisible();
  await expect(linus.rejoinButton).toBeVisible();
  await expect(linus.stage).toHaveCount(0);
});

test('a participant whose tab closes disappears from the others within 10 s', async ({ participant, room }) => {
  const ada = await participant('Ada');
  const grace = await participant('Grace');
  await ada.join(room);
  const graceId = await grace.join(room);
  await expect(ada.tileOf(graceId)).toBeVisible({ timeout: 20_000 });

  // No goodbye: the whole context (and its WebSocket and peer connection) just goes away.
  await grace.page.context().close();
  await expect(ada.tileOf(graceId)).toHaveCount(0, { timeout: 10_000 });
  await ada.expectParticipantCount(1);
});
