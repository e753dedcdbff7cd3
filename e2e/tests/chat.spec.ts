import { expect, test } from '../support/fixtures';
import { sendChat as send } from '../support/chat';

test.describe('Chat', () => {
  test.skip(({ browserName }) => browserName !== 'chromium', 'mixed by design: runs in the chromium project');

  test('Chromium to Firefox and back; hostile HTML arrives as text; links are safe', async ({ participant, firefoxBrowser, room }) => {
    const chrome = await participant('Chromium user');
    const fox = await participant('Firefox user', { browser: firefoxBrowser });
    await chrome.join(room);
    await fox.join(room);
    await expect(fox.remoteTiles).toHaveCount(1, { timeout: 30_000 });

    const hostile = '<img src=x onerror="window.__pwned=1"><b>bold</b> see https://example.com/x?a=1.';
    // The channel opens with the connection: retry until the message is delivered.
    await expect(async () => {
      await send(chrome, `hello ${Date.now()}`);
      await expect(fox.page.getByRole('button', { name: /^Open chat \(\d+ unread\)/ })).toBeVisible({ timeout: 2_000 });
    }).toPass({ timeout: 30_000 });
    await expect(fox.page.getByTestId('chat-unread')).toBeVisible();
    await send(chrome, hostile);

    await fox.page.getByRole('button', { name: /^Open chat/ }).click();
    await expect(fox.page.getByTestId('chat-unread')).toHaveCount(0);
    const last = fox.page.getByTestId('chat-message').last();
    await expect(last.getByTestId('chat-from')).toHaveText('Chromium user');
    await expect(last.getByTestId('chat-text')).toHaveText(hostile);
    await expect(last.locator('img, b')).toHaveCount(0);
    const link = last.getByRole('link');
    await expect(link).toHaveAttribute('href', 'https://example.com/x?a=1');
    await expect(link).toHaveAttribute('target', '_blank');
    await expect(link).toHaveAttribute('rel', /noopener/);
    expect(await fox.page.evaluate(() => (window as any).__pwned)).toBeUndefined();
    await expect(fox.page.getByText('People who join later see messages from then on.')).toBeVisible();

    await chrome.page.getByRole('button', { name: 'Close chat' }).click();
    await expect(chrome.page.getByTestId('chat-panel')).toBeHidden();
    await send(fox, 'hi from Firefox <script>alert(1)</script>');
    await expect(chrome.page.getByTestId('chat-unread')).toHaveText('1');
    await chrome.page.locator('body').press('c'); // the "c" shortcut opens the chat
    await expect(chrome.page.getByTestId('chat-panel')).toBeVisible();
    await expect(chrome.page.getByTestId('chat-unread')).toHaveCount(0);
    const got = chrome.page.getByTestId('chat-message').last();
    await expect(got.getByTestId('chat-text')).toHaveText('hi from Firefox <script>alert(1)</script>');
    await expect(got.getByTestId('chat-from')).toHaveText('Firefox user');
  });
});
