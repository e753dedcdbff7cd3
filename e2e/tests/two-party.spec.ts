import { expect, test } from '../support/fixtures';
import { expectMediaFlowing } from '../support/media';

test('two participants see and hear each other', async ({ participant, room }) => {
  const ada = await participant('Ada');
  const grace = await participant('Grace');

  const adaId = await ada.join(room);
  await ada.expectParticipantCount(1);
  const graceId = await grace.join(room);

  // Each sees the other's tile, with the right name.
  await expect(ada.tileOf(graceId).locator('.tile-name')).toContainText('Grace');
  await expect(grace.tileOf(adaId).locator('.tile-name')).toContainText('Ada');
  await ada.expectParticipantCount(2);
  await grace.expectParticipantCount(2);

  for (const label of ['Mute microphone', 'Turn off camera', 'Copy meeting link', 'Leave meeting']) {
    await expect(ada.button(label), `control "${label}"`).toBeVisible();
  }

  await expectMediaFlowing(ada, { remotes: 1 });
  await expectMediaFlowing(grace, { remotes: 1 });
});
