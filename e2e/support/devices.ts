/**
 * Devices (camera, microphone, speaker): what the page sends on each peer connection (the camera/mic sender is
 * first audio/video transceiver that sends (receiving is on transceivers of its own), read through `window.__nonstop.peers`), and a stand-in for unplugging a
 * device (an `ended` event on the local track: `track.stop()` fires none).
 */
import type { Page } from '@playwright/test';

export type MediaKind = 'audio' | 'video';

export interface SentTrack {
  id: string | null;
  readyState: string | null;
  enabled: boolean | null;
}

/** participant id -> the camera (video) or microphone (audio) track this page sends to them. */
export async function sentTracks(page: Page, kind: MediaKind): Promise<Record<string, SentTrack>> {
  return page.evaluate((kind) => {
    const out: Record<string, { id: string | null; readyState: string | null; enabled: boolean | null }> = {};
    const peers = (window as any).__nonstop?.peers as Map<number, RTCPeerConnection> | undefined;
    for (const [id, pc] of peers ?? new Map<number, RTCPeerConnection>()) {
      const t = pc
        .getTransceivers()
        .find((t: RTCRtpTransceiver) => (t.direction === 'sendonly' || t.direction === 'sendrecv') && t.receiver.track.kind === kind);
      const track = t?.sender.track ?? null;
      out[String(id)] = { id: track?.id ?? null, readyState: track?.readyState ?? null, enabled: track?.enabled ?? null };
    }
    return out;
  }, kind);
}

/** The local track of `kind` shown on this page (the preview before joining, the own tile in the call). */
export async function localTrackId(page: Page, kind: MediaKind): Promise<string | null> {
  return page.evaluate((kind) => {
    const video = document.querySelector<HTMLVideoElement>('video.mirrored');
    const stream = video?.srcObject as MediaStream | null | undefined;
    const track = kind === 'audio' ? stream?.getAudioTracks()[0] : stream?.getVideoTracks()[0];
    return track?.id ?? null;
  }, kind);
}

/** Keeps the current local track of `kind` as `window.__oldTrack`, to check later that it was stopped. */
export async function keepOldTrack(page: Page, kind: MediaKind): Promise<void> {
  await page.evaluate((kind) => {
    const stream = document.querySelector<HTMLVideoElement>('video.mirrored')?.srcObject as MediaStream;
    (window as any).__oldTrack = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
  }, kind);
}

export async function oldTrackState(page: Page): Promise<string | null> {
  return page.evaluate(() => ((window as any).__oldTrack as MediaStreamTrack | undefined)?.readyState ?? null);
}

/** As if the device behind the local track of `kind` were unplugged: its track fires `ended`. */
export async function unplug(page: Page, kind: MediaKind): Promise<void> {
  await page.evaluate((kind) => {
    const stream = document.querySelector<HTMLVideoElement>('video.mirrored')?.srcObject as MediaStream;
    const track = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    track.dispatchEvent(new Event('ended'));
  }, kind);
}

/** How many devices of each kind the page sees (after permission, with ids). */
export async function deviceCounts(page: Page): Promise<{ cameras: number; microphones: number; speakers: number }> {
  return page.evaluate(async () => {
    const list = await navigator.mediaDevices.enumerateDevices();
    const n = (k: MediaDeviceKind) => list.filter((d) => d.kind === k && d.deviceId !== '').length;
    return { cameras: n('videoinput'), microphones: n('audioinput'), speakers: n('audiooutput') };
  });
}
