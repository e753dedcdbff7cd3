import { expect, test } from '../support/fixtures';
import { deviceCounts, sentTracks } from '../support/devices';

test('h5b debug', async ({ participant, room }) => {
  const ada = await participant('Ada');
  const grace = await participant('Grace');
  await ada.gotoRoom(room);
  await expect(ada.joinMeetingButton).toBeEnabled();
  console.log('devices', JSON.stringify(await ada.page.evaluate(async () => (await navigator.mediaDevices.enumerateDevices()).map(d => [d.kind, d.deviceId.slice(0,8), d.label]))));
  console.log('counts', JSON.stringify(await deviceCounts(ada.page)));
  const info = () => ada.page.evaluate(() => [...document.querySelectorAll('video')].map(v => [v.className, v.dataset.testid, ((v.srcObject as MediaStream)?.getTracks() ?? []).map(t => t.kind + ':' + t.id.slice(0,8) + ':' + t.readyState)]));
  console.log('prejoin videos', JSON.stringify(await info()));
  await ada.page.evaluate(() => { const s = document.querySelector<HTMLVideoElement>('video.mirrored')!.srcObject as MediaStream; s.getAudioTracks()[0].dispatchEvent(new Event('ended')); });
  await ada.page.waitForTimeout(2000);
  console.log('after mic ended', JSON.stringify(await info()));
  await ada.clickJoin();
  await ada.waitInCall();
  await grace.join(room);
  await ada.page.waitForTimeout(3000);
  console.log('incall videos', JSON.stringify(await info()));
  const gid = String(await grace.id());
  console.log('sent', JSON.stringify(await sentTracks(ada.page, 'video')));
  await ada.page.evaluate(() => { const s = document.querySelector<HTMLVideoElement>('video.mirrored')!.srcObject as MediaStream; s.getVideoTracks()[0].dispatchEvent(new Event('ended')); });
  await ada.page.waitForTimeout(3000);
  console.log('after cam ended', JSON.stringify(await info()));
  console.log('sent', JSON.stringify(await sentTracks(ada.page, 'video')), gid);
  console.log('alerts', JSON.stringify(await ada.alerts.allTextContents()));
  console.log(ada.consoleLines.join('\n'));
});
