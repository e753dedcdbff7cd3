import { expect, test } from '../support/fixtures';
import { expectMediaFlowing } from '../support/media';

// The denied participant runs in a second browser of the project's kind that refuses camera and microphone
// (Chromium without --use-fake-ui-for-media-stream; Firefox with permissions.default.camera/microphone = 2).
test('joining without camera permission still receives the others', async ({ participant, deniedBrowser, room }) => {
  const ada = await participant('Ada');
  const grace = await participant('Grace', { browser: deniedBrowser });
  const adaId = await ada.join(room);

  await grace.gotoRoom(room);
  await expect(grace.mediaError).toBeVisible({ timeout: 15_000 });
  await expect(grace.mediaError).toHaveRole('alert');
  await grace.clickJoin();
  const graceId = await grace.waitInCall();

  // Grace is in the call, receive-only: Ada sees her tile, and Grace decodes Ada's video and audio.
  await expect(ada.tileOf(graceId)).toBeVisible({ timeout: 20_000 });
  await expect(grace.tileOf(adaId)).toBeVisible();
  await expectMediaFlowing(grace, { remotes: 1 });
});
