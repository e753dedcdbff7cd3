import type { MeetingPage } from './fixtures';

/** Sends `text` from `p`'s chat panel, opening the panel first if it is closed. */
export async function sendChat(p: MeetingPage, text: string) {
  const panel = p.page.getByTestId('chat-panel');
  if (!(await panel.isVisible())) await p.page.getByRole('button', { name: /^Open chat/ }).click();
  await panel.getByLabel('Message', { exact: true }).fill(text);
  await panel.getByRole('button', { name: 'Send', exact: true }).click();
}
