import { expect, test } from '../support/fixtures';

// Chromium's fake microphone beeps; a participant who muted (the track is disabled, so it sends
// silence) is the silent one.
test('speaking indicator: the beeping participant is marked speaking, the muted one is not', async ({ participant, room, browserName }) => {
  test.skip(browserName !== 'chromium', "needs Chromium's beeping fake microphone");
  const loud = await participant('Loud');
  const quiet = await participant('Quiet');
  const loudId = await loud.join(room);
  await quiet.gotoRoom(room);
  await quiet.button('Mute microphone').click();
  await quiet.clickJoin();
  const quietId = await quiet.waitInCall();

  await expect(quiet.tileOf(loudId)).toHaveAttribute('data-speaking', 'true', { timeout: 20_000 });
  await expect(quiet.tileOf(loudId)).toHaveAccessibleName(/speaking/);
  // Sampled over a few seconds: the silent one never lights up on the other side.
  for (let i = 0; i < 6; i++) {
    await expect(loud.tileOf(quietId)).toHaveAttribute('data-speaking', 'false');
    await loud.page.waitForTimeout(500);
  }
});
