import { expect, test } from '../support/fixtures';
import { expectMediaFlowing } from '../support/media';

test('a meeting with a passcode asks for it, refuses a wrong one and admits the right one', async ({ participant, room }) => {
  const ada = await participant('Ada');
  const grace = await participant('Grace');

  // Ada starts the meeting and sets its passcode.
  await ada.gotoRoom(room);
  await ada.passcodeInput.fill('tulip 42');
  await ada.clickJoin();
  const adaId = await ada.waitInCall();

  // Grace comes without it: told so, and kept on the pre-join screen with the field to type it in.
  await grace.gotoRoom(room);
  await grace.clickJoin();
  await expect(grace.joinError).toContainText('protected by a passcode');
  await expect(grace.joinMeetingButton).toBeEnabled();
  await expect(grace.passcodeInput).toBeFocused();
  await expect(grace.stage).toHaveCount(0);

  // A wrong one is refused, still on the pre-join screen.
  await grace.passcodeInput.fill('tulip 24');
  await grace.joinMeetingButton.click();
  await expect(grace.joinError).toContainText("not this meeting's");
  await expect(grace.stage).toHaveCount(0);
  await ada.expectParticipantCount(1);

  // The right one joins, and media flows both ways.
  await grace.passcodeInput.fill('tulip 42');
  await grace.joinMeetingButton.click();
  const graceId = await grace.waitInCall();
  await expect(ada.tileOf(graceId).locator('.tile-name')).toContainText('Grace');
  await expect(grace.tileOf(adaId).locator('.tile-name')).toContainText('Ada');
  await expectMediaFlowing(ada, { remotes: 1 });
  await expectMediaFlowing(grace, { remotes: 1 });
});
