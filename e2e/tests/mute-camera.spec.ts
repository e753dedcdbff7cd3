import { expect, test } from '../support/fixtures';

test('mute and camera-off show on the remote side', async ({ participant, room }) => {
  const ada = await participant('Ada');
  const grace = await participant('Grace');
  const adaId = await ada.join(room);
  await grace.join(room);
  const adaOnGrace = grace.tileOf(adaId);
  await expect(adaOnGrace).toBeVisible({ timeout: 20_000 });
  const micOff = adaOnGrace.getByTestId('mic-off');
  const cameraOff = adaOnGrace.getByTestId('camera-off');
  await expect(micOff).toBeHidden();
  await expect(cameraOff).toBeHidden();

  await ada.muteMic();
  await expect(micOff).toBeVisible();
  await expect(micOff).toHaveAttribute('aria-label', 'Microphone muted');
  await expect(cameraOff).toBeHidden();
  await ada.unmuteMic();
  await expect(micOff).toBeHidden();

  await ada.cameraOff();
  await expect(cameraOff).toBeVisible();
  await expect(micOff).toBeHidden();
  await ada.cameraOn();
  await expect(cameraOff).toBeHidden();

  // Both at once, then both back.
  await ada.muteMic();
  await ada.cameraOff();
  await expect(micOff).toBeVisible();
  await expect(cameraOff).toBeVisible();
  await ada.unmuteMic();
  await ada.cameraOn();
  await expect(micOff).toBeHidden();
  await expect(cameraOff).toBeHidden();
});
