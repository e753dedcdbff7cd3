/**
 * Real browsers in a big relayed call: what a person sees while nonstop-sfu-load holds the call (not a
 * pass/fail test; scripts/bench-sfu runs it inside its own network namespace, next to the server and Janus,
 * once the scripted participants are in). Each browser joins the room at NONSTOP_BENCH_SFU_URL in its own
 * Chromium, then, over NONSTOP_BENCH_SFU_SECONDS (default 20), measures:
 * - join: "Join meeting" clicked to the first remote video frame;
 * - camera tiles shown on its page, and how many of them decoded frames during the window (framesDecoded
 *   rising, videoWidth > 0);
 * - the inbound audio and video streams its connections carry (every RTCPeerConnection of the page, counted
 *   through a wrapper installed before the app loads): the app should receive only the speakers' audio;
 * - freezes (the inbound video streams' freezeCount over the window) and decoded frames per second.
 * Prints one `bench-sfu: browser …` line each, and writes them to NONSTOP_BENCH_SFU_OUT (JSON) if set.
 */
import * as fs from 'node:fs';
import { test, chromium, type Page } from '@playwright/test';
import { chromiumLaunchOptions } from '../support/browsers';
import { MeetingPage } from '../support/meeting-page';
import { armFirstFrameWatch, firstFrame } from '../support/first-frame';
import { recordPeerConnections } from '../support/peer-connections';

const url = process.env.NONSTOP_BENCH_SFU_URL ?? '';
const browsers = Number(process.env.NONSTOP_BENCH_SFU_BROWSERS ?? 2);
const seconds = Number(process.env.NONSTOP_BENCH_SFU_SECONDS ?? 20);

interface Flow {
  audioStreams: number;
  audioFlowing: number;
  videoStreams: number;
  videoFlowing: number;
  framesDecoded: number;
  freezes: number;
}

/** Every inbound stream of every connection of the page, totalled. */
async function flows(page: Page): Promise<Flow & { packets: Record<string, number> }> {
  return page.evaluate(async () => {
    const out = { audioStreams: 0, audioFlowing: 0, videoStreams: 0, videoFlowing: 0, framesDecoded: 0, freezes: 0, packets: {} as Record<string, number> };
    const pcs = ((window as any).__allPcs ?? []) as RTCPeerConnection[];
    for (const [i, pc] of pcs.entries()) {
      if (pc.connectionState === 'closed') continue;
      const report = await pc.getStats();
      report.forEach((r: any) => {
        if (r.type !== 'inbound-rtp') return;
        out.packets[`${i}:${r.kind}:${r.mid ?? r.ssrc}`] = r.packetsReceived ?? 0;
        if (r.kind === 'audio') out.audioStreams += 1;
        if (r.kind === 'video') {
          out.videoStreams += 1;
          out.framesDecoded += r.framesDecoded ?? 0;
          out.freezes += r.freezeCount ?? 0;
        }
      });
    }
    return out;
  });
}

/** Camera tiles shown, and per tile its decoded frames and picture width. */
async function tiles(page: Page): Promise<{ id: string; frames: number; width: number }[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('[data-testid="tile"][data-local="false"][data-kind="camera"]')].map((tile) => {
      const video = tile.querySelector('video');
      const q = video?.getVideoPlaybackQuality?.();
      return { id: tile.getAttribute('data-participant') ?? '', frames: q?.totalVideoFrames ?? 0, width: video?.videoWidth ?? 0 };
    }),
  );
}

test('real browsers in a big relayed call', async () => {
  test.skip(!url, 'run by scripts/bench-sfu (NONSTOP_BENCH_SFU_URL)');
  test.setTimeout((seconds + 120) * 1000 * Math.max(1, browsers));
  const base = new URL(url);
  const room = base.pathname.replace(/^\//, '');
  const results: Record<string, unknown>[] = [];
  const opened: { p: MeetingPage; joinMs: number }[] = [];
  const launched = [];
  try {
    for (let i = 0; i < browsers; i++) {
      const options = chromiumLaunchOptions();
      // The call's http origin is not localhost: make it a secure context, as the e2e topology does.
      options.args = [...(options.args ?? []), `--unsafely-treat-insecure-origin-as-secure=${base.origin}`];
      const browser = await chromium.launch(options);
      launched.push(browser);
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
      // Every connection the app makes, for getStats (the SFU's are not in window.__nonstop).
      await recordPeerConnections(page);
      const p = new MeetingPage(page, base.origin, `Browser ${i + 1}`);
      await p.gotoRoom(room);
      await armFirstFrameWatch(p);
      const clicked = await page.evaluate(() => performance.timeOrigin + performance.now());
      await p.clickJoin();
      await p.waitInCall();
      const first = await firstFrame(p);
      opened.push({ p, joinMs: Math.round(first.at - clicked) });
    }
    const before = await Promise.all(opened.map(({ p }) => Promise.all([flows(p.page), tiles(p.page)])));
    const started = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsed = (Date.now() - started) / 1000;
    for (const [i, { p, joinMs }] of opened.entries()) {
      const [f0, t0] = before[i];
      const [f1, t1] = [await flows(p.page), await tiles(p.page)];
      const flowing = (kind: string) =>
        Object.entries(f1.packets).filter(([k, n]) => k.includes(`:${kind}:`) && n > (f0.packets[k] ?? 0)).length;
      const decoding = t1.filter((t) => t.width > 0 && t.frames > (t0.find((o) => o.id === t.id)?.frames ?? 0)).length;
      const result = {
        browser: i + 1,
        joinMs,
        tilesShown: t1.length,
        tilesDecoding: decoding,
        audioStreams: f1.audioStreams,
        audioFlowing: flowing('audio'),
        videoStreams: f1.videoStreams,
        videoFlowing: flowing('video'),
        fps: Math.round(((f1.framesDecoded - f0.framesDecoded) / elapsed) * 10) / 10,
        freezes: f1.freezes - f0.freezes,
        seconds: Math.round(elapsed),
      };
      results.push(result);
      const out = process.env.NONSTOP_BENCH_SFU_OUT;
      if (out) {
        await p.page.screenshot({ path: out.replace(/\.json$/, `-${i + 1}.png`) });
        fs.writeFileSync(out.replace(/\.json$/, `-${i + 1}.console.txt`), p.consoleLines.join('\n'));
      }
      console.log(
        `bench-sfu: browser ${result.browser}: joined to first remote frame in ${joinMs} ms; ` +
          `${decoding} of ${t1.length} camera tiles decoding; inbound video ${result.videoFlowing} flowing of ${result.videoStreams}, ` +
          `audio ${result.audioFlowing} flowing of ${result.audioStreams}; ${result.fps} frames/s decoded in all; ` +
          `${result.freezes} freezes in ${result.seconds} s`,
      );
    }
  } finally {
    if (process.env.NONSTOP_BENCH_SFU_OUT) fs.writeFileSync(process.env.NONSTOP_BENCH_SFU_OUT, JSON.stringify(results, null, 2));
    for (const b of launched) await b.close().catch(() => {});
  }
});
