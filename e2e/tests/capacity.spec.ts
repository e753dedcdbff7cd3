import { expect, test, type MeetingPage } from '../support/fixtures';
import type { NonstopServer } from '../support/server';

type NewParticipant = (name: string, opts: { server: NonstopServer }) => Promise<MeetingPage>;

/**
 * Ada and Grace join `room` on a server that holds two; Linus tries and is turned away. Returns Linus's page,
 * showing the refusal as an alert and no stage, after checking the two inside were undisturbed.
 */
async function thirdIsTurnedAway(participant: NewParticipant, server: NonstopServer, room: string): Promise<MeetingPage> {
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
  await expect(linus.stage).toHaveCount(0);

  // The two inside are undisturbed.
  await ada.expectParticipantCount(2);
  await grace.expectParticipantCount(2);
  return linus;
}

test('a join beyond the room capacity is refused with the room-full message', async ({ participant, startServer, room }) => {
  const linus = await thirdIsTurnedAway(participant, await startServer({ capacity: 2 }), room);
  await expect(linus.joinError).toContainText(/full/i);
});

test('without an SFU, a join beyond the mesh limit is refused with a message saying why', async ({
  participant,
  startServer,
  room,
}) => {
  // No Janus flags: this server has no SFU, so a call stays a full mesh of at most --mesh-limit people.
  const linus = await thirdIsTurnedAway(participant, await startServer({ meshLimit: 2 }), room);
  await expect(linus.joinError).toContainText('limited to 2 participants');
  await expect(linus.joinError).toContainText('no SFU');
});
