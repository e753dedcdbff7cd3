/**
 * What the relayed-mode tests (tests/relayed*.spec.ts) share: a call in a Topology with the project's Janus,
 * the video gap of every remote camera tile across a switch of topology (sampled in the page), the server's
 * topology messages as a page received them, and checks that a page decodes given cameras.
 */
import { expect } from '@playwright/test';
import type { Page, TestInfo } from '@playwright/test';
import { createTopology, type Topology } from './topology';
import { startProjectJanus, type ProjectJanus } from './project-janus';
import type { SignalingLog } from './signaling';

/**
 * `participants` namespaces (3 by default), the project's Janus and the signaling server (told of Janus, with
 * `extraArgs`) in the hub; runs `body`, then stops them all, whatever happened.
 */
export async function inCallWithJanus(
  testInfo: TestInfo,
  extraArgs: string[],
  body: (net: Topology, janus: ProjectJanus, server: Awaited<ReturnType<Topology['startServer']>>) => Promise<void>,
  { participants = 3 }: { participants?: number } = {},
) {
  const net = await createTopology({ participants });
  let janus: ProjectJanus | undefined;
  try {
    janus = await startProjectJanus(net, testInfo.outputPath('janus'));
    const server = await net.startServer({ logFile: testInfo.outputPath('server.log'), extraArgs: [...janus.serverArgs, ...extraArgs] });
    await body(net, janus, server);
  } finally {
    await janus?.stop();
    await net.destroy();
  }
}

/** Starts recording, in the page, when each remote camera tile shows new frames (sampled every 100 ms). */
export async function watchGaps(page: Page) {
  await page.evaluate(() => {
    const w = window as any;
    // Frames shown by a <video>: Firefox's own count where it does not fill the standard one for live streams.
    w.__framesOf = (video: HTMLVideoElement) => video.getVideoPlaybackQuality().totalVideoFrames || ((video as any).mozPaintedFrames ?? 0);
    // participant -> the last count read, and the times (Date.now(), as the signaling log) it rose.
    const tiles: Record<string, { frames: number; rose: number[] }> = (w.__frames = {});
    const you = String(w.__nonstop?.you);
    setInterval(() => {
      for (const tile of document.querySelectorAll('[data-testid="tile"][data-kind="camera"]')) {
        const id = tile.getAttribute('data-participant') ?? '';
        const video = tile.querySelector('video');
        if (id === you || !video) continue;
        const frames = w.__framesOf(video);
        const t = (tiles[id] ??= { frames: 0, rose: [] });
        if (frames > t.frames) t.rose.push(Date.now());
        t.frames = frames;
      }
    }, 100);
  });
}

/**
 * The longest time (ms) each remote camera tile went without a new frame between `from` and `to` (page
 * times), and when that gap began: a tile whose first frame came after `from` counts from that frame.
 */
export async function gaps(page: Page, from: number, to: number): Promise<Record<string, { gap: number; began: number }>> {
  return page.evaluate(
    ({ from, to }) => {
      const out: Record<string, { gap: number; began: number }> = {};
      for (const [id, t] of Object.entries((window as any).__frames as Record<string, { rose: number[] }>)) {
        const before = t.rose.filter((r) => r <= from);
        const inside = t.rose.filter((r) => r > from && r <= to);
        const times = [...(before.length ? [from] : []), ...inside, to];
        const worst = { gap: 0, began: from };
        for (let i = 1; i < times.length; i++) {
          if (times[i] - times[i - 1] > worst.gap) Object.assign(worst, { gap: times[i] - times[i - 1], began: times[i - 1] });
        }
        out[id] = worst;
      }
      return out;
    },
    { from, to },
  );
}

/** Gaps as "gap ms (began at +N ms after the commit)", for the log. */
export function describeGaps(g: Record<string, { gap: number; began: number }>, commit: number) {
  return Object.entries(g).map(([id, { gap, began }]) => `${id}: ${gap} ms from ${began - commit} ms`).join(', ');
}

/** When this page received the server's `phase` of `mode` (page time), the last one if several. */
export async function topologyAt(signaling: SignalingLog, mode: 'relayed' | 'mesh', phase: 'prepare' | 'commit'): Promise<number> {
  const found = (await signaling.of('received', 'topology')).filter((m) => m.mode === mode && m.phase === phase);
  return found[found.length - 1]._at;
}

/** Whether `page` decodes the camera of each of `ids`: its tile's video has a size and new frames arrive. */
export async function expectDecoding(page: Page, ids: number[], what: string) {
  const state = () =>
    page.evaluate((ids) => {
      return ids.map((id) => {
        const video = document.querySelector<HTMLVideoElement>(`[data-testid="tile"][data-kind="camera"][data-participant="${id}"] video`);
        return { width: video?.videoWidth ?? -1, frames: video ? (window as any).__framesOf(video) : -1 };
      });
    }, ids);
  const frames = async () => (await state()).map((v) => (v.width > 0 ? v.frames : -1));
  try {
    await expect.poll(async () => Math.min(...(await frames())), { timeout: 30_000, message: `${what}: every camera shows` }).toBeGreaterThan(0);
  } catch (e) {
    console.log(`${what}: ${JSON.stringify(await state())}`);
    throw e;
  }
  const before = await frames();
  await expect
    .poll(async () => (await frames()).every((f, i) => f > before[i] + 5 || f < before[i]), { timeout: 15_000, message: `${what}: frames keep coming` })
    .toBe(true);
}

/** Waits for the server's commit of `mode` on this page. */
export async function expectCommitted(signaling: SignalingLog, mode: 'relayed' | 'mesh', after: number, timeout = 30_000) {
  await expect
    .poll(async () => (await signaling.of('received', 'topology')).some((m) => m.mode === mode && m.phase === 'commit' && m._at >= after), {
      timeout,
      message: `commit of ${mode}`,
    })
    .toBe(true);
}

/** The worst and the median of `all`, and how many. */
export function summary(all: number[]) {
  const sorted = [...all].sort((a, b) => a - b);
  return { worst: sorted[sorted.length - 1], median: sorted[Math.floor(sorted.length / 2)], n: sorted.length };
}
