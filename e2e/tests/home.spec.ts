import { expect, test } from '../support/fixtures';

test('home: "New meeting" opens a fresh room, "Join" opens the named one', async ({ participant, room }) => {
  const ada = await participant('Ada');
  await ada.gotoHome();
  await expect(ada.page).toHaveTitle('Nonstop');

  await ada.newMeetingButton.click();
  await expect(ada.joinMeetingButton).toBeVisible();
  const fresh = new URL(ada.page.url()).pathname.slice(1);
  expect(fresh, 'room name in the URL').toMatch(/^[a-z0-9_-]{3,64}$/);
  await expect(ada.preview).toBeVisible();

  await ada.gotoHome();
  await ada.meetingNameInput.fill(room);
  await ada.joinButton.click();
  await expect(ada.page).toHaveURL(new RegExp(`/${room}$`));
  await expect(ada.joinMeetingButton).toBeVisible();
});

test('pre-join remembers the name from the last call', async ({ participant, room }) => {
  const ada = await participant('Ada Lovelace');
  await ada.join(room);
  await ada.leave();
  await expect(ada.rejoinButton).toBeVisible();

  await ada.gotoRoom(`${room}-next`);
  await expect(ada.nameInput).toHaveValue('Ada Lovelace');
});
