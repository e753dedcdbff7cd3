import { expect, test } from '../support/fixtures';
import { expectTileDecoding } from '../support/media';

const screenVideoWidth = (page: import('@playwright/test').Page, id: number) =>
  page.evaluate((id) => {
    const v = document.querySelector<HTMLVideoElement>(`[data-testid="tile"][data-kind="screen"][data-participant="${id}"] video`);
    return v?.videoWidth ?? 0;
  }, id);

test('screen share: remote decodes a second tile, presentation layout, stopping removes it', async ({ participant, room, browserName }) => {
  test.skip(browserName !== 'chromium', 'Firefox cannot fake a screen share headless');
  const sharer = await participant('Sharer');
  const viewer = await participant('Viewer');
  const sharerId = await sharer.join(room);
  await viewer.join(room);
  await expect(viewer.remoteTiles).toHaveCount(1, { timeout: 30_000 });

  await sharer.button('Share screen').click();
  await expect(sharer.button('Stop sharing')).toBeVisible();
  const screenTile = viewer.stage.locator(`[data-testid="tile"][data-kind="screen"][data-participant="${sharerId}"]`);
  await expect(screenTile).toHaveCount(1, { timeout: 20_000 });
  await expect.poll(() => screenVideoWidth(viewer.page, sharerId), { timeout: 20_000 }).toBeGreaterThan(0);
  // The screen's own stream decodes (not only the camera beside it on the same link).
  await expectTileDecoding(viewer, sharerId, 'screen');
  await expect(viewer.stage).toHaveAttribute('data-arrangement', 'presentation');
  // The camera keeps playing in its own tile.
  await expect(viewer.stage.locator(`[data-testid="tile"][data-kind="camera"][data-participant="${sharerId}"]`)).toHaveCount(1);
  const camWidth = await viewer.page.evaluate((id) =>
    document.querySelector<HTMLVideoElement>(`[data-testid="tile"][data-kind="camera"][data-participant="${id}"] video`)?.videoWidth ?? 0, sharerId);
  expect(camWidth).toBeGreaterThan(0);
  await expectTileDecoding(viewer, sharerId, 'camera');

  // Someone joining while the screen is shared gets it too.
  const late = await participant('Late');
  await late.join(room);
  await expect(late.stage.locator(`[data-testid="tile"][data-kind="screen"][data-participant="${sharerId}"]`)).toHaveCount(1, { timeout: 30_000 });
  await expect.poll(() => screenVideoWidth(late.page, sharerId), { timeout: 20_000 }).toBeGreaterThan(0);
  await expectTileDecoding(late, sharerId, 'screen');

  await sharer.button('Stop sharing').click();
  await expect(screenTile).toHaveCount(0, { timeout: 15_000 });
  await expect(viewer.stage).toHaveAttribute('data-arrangement', 'grid');
  await expect(sharer.button('Share screen')).toBeVisible();
});
