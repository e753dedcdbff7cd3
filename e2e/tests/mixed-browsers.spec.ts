import { test } from '../support/fixtures';
import { expectMediaFlowing } from '../support/media';

// Chromium <-> Firefox: runs once, from the Chromium project, with a Firefox launched beside it.
test.describe('Chromium and Firefox in one call', () => {
  test.skip(({ browserName }) => browserName !== 'chromium', 'mixed by design: runs in the chromium project');

  test('Chromium first, Firefox joins: media both ways', async ({ participant, firefoxBrowser, room }) => {
    const chrome = await participant('Chromium user');
    const fox = await participant('Firefox user', { browser: firefoxBrowser });
    await chrome.join(room);
    await fox.join(room);
    await expectMediaFlowing(chrome, { remotes: 1 });
    await expectMediaFlowing(fox, { remotes: 1 });
  });

  test('Firefox first, Chromium joins: media both ways', async ({ participant, firefoxBrowser, room }) => {
    const fox = await participant('Firefox user', { browser: firefoxBrowser });
    const chrome = await participant('Chromium user');
    await fox.join(room);
    await chrome.join(room);
    await expectMediaFlowing(fox, { remotes: 1 });
    await expectMediaFlowing(chrome, { remotes: 1 });
  });
});
