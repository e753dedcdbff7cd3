/**
 * Timing the first remote video frame in a page, for the join benchmarks. Timestamps are absolute
 * (performance.timeOrigin + performance.now()), so they compare across pages of one machine.
 */
import type { MeetingPage } from './meeting-page';

/** Starts watching for the first remote video frame; resolves (in the page) to an absolute time in ms. */
export async function armFirstFrameWatch(p: MeetingPage): Promise<void> {
  await p.page.evaluate(() => {
    const w = window as any;
    const now = () => performance.timeOrigin + performance.now();
    w.__benchFirstFrame = new Promise<{ at: number; via: string }>((resolve) => {
      let done = false;
      const finish = (via: string) => {
        if (!done) {
          done = true;
          resolve({ at: now(), via });
        }
      };
      const watched = new WeakSet<HTMLVideoElement>();
      const tick = async () => {
        if (done) return;
        for (const v of document.querySelectorAll<HTMLVideoElement>('[data-testid="tile"][data-local="false"] video')) {
          if (!watched.has(v) && 'requestVideoFrameCallback' in v) {
            watched.add(v);
            v.requestVideoFrameCallback(() => finish('requestVideoFrameCallback'));
          }
        }
        for (const pc of (w.__nonstop?.peers?.values() ?? []) as Iterable<RTCPeerConnection>) {
          const report = await pc.getStats();
          report.forEach((r: any) => {
            if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0) finish('getStats');
          });
        }
        setTimeout(tick, 5);
      };
      tick();
    });
  });
}

export async function firstFrame(p: MeetingPage): Promise<{ at: number; via: string }> {
  return p.page.evaluate(() => (window as any).__benchFirstFrame);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
