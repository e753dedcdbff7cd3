/**
 * Reading what really flows, through the app's debug hook
 * `window.__nonstop = { you: number | null, peers: Map<number, RTCPeerConnection> }`.
 */
import { expect, type Page } from '@playwright/test';

/** Inbound media counters of one peer connection (summed over its inbound streams). */
export interface PeerStats {
  connectionState: RTCPeerConnectionState;
  framesDecoded: number;
  audioPacketsReceived: number;
  videoPacketsReceived: number;
}

/** participant id (as a string) -> counters, for every peer connection the page holds. */
export type StatsByPeer = Record<string, PeerStats>;

export async function peerStats(page: Page): Promise<StatsByPeer> {
  return page.evaluate(async () => {
    const hook = (window as any).__nonstop as { peers?: Map<number, RTCPeerConnection> } | undefined;
    const out: Record<string, PeerStats> = {};
    if (!hook?.peers) return out;
    for (const [id, pc] of hook.peers) {
      const s: PeerStats = {
        connectionState: pc.connectionState,
        framesDecoded: 0,
        audioPacketsReceived: 0,
        videoPacketsReceived: 0,
      };
      const report = await pc.getStats();
      report.forEach((r: any) => {
        if (r.type !== 'inbound-rtp') return;
        if (r.kind === 'video') {
          s.framesDecoded += r.framesDecoded ?? 0;
          s.videoPacketsReceived += r.packetsReceived ?? 0;
        } else if (r.kind === 'audio') {
          s.audioPacketsReceived += r.packetsReceived ?? 0;
        }
      });
      out[String(id)] = s;
    }
    return out;
  });
}

/** What a tile shows: a participant's camera or their shared screen. */
export type TileKind = 'camera' | 'screen';

/**
 * framesDecoded of the one inbound video stream that feeds the `kind` tile of participant `id` on this page:
 * the tile's <video> track, the receiver of that participant's peer connection holding that track, and the
 * inbound-rtp entry whose `trackIdentifier` names it. Not a sum over the link's video streams: a screen
 * share counts only what the screen's own transceiver decodes. null while any of these is missing.
 */
export async function tileFramesDecoded(page: Page, id: number, kind: TileKind): Promise<number | null> {
  return page.evaluate(
    async ({ id, kind }) => {
      const video = document.querySelector<HTMLVideoElement>(`[data-testid="tile"][data-kind="${kind}"][data-participant="${id}"] video`);
      const track = (video?.srcObject as MediaStream | null | undefined)?.getVideoTracks()[0];
      const pc = ((window as any).__nonstop?.peers as Map<number, RTCPeerConnection> | undefined)?.get(id);
      if (!track || !pc || !pc.getReceivers().some((r) => r.track.id === track.id)) return null;
      let frames: number | null = null;
      (await pc.getStats()).forEach((r: any) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video' && r.trackIdentifier === track.id) frames = r.framesDecoded ?? 0;
      });
      return frames;
    },
    { id, kind },
  );
}

/** The participant id this page has in the call (from the debug hook), or null before joining. */
export async function ownId(page: Page): Promise<number | null> {
  return page.evaluate(() => (window as any).__nonstop?.you ?? null);
}

/** videoWidth of every remote tile's <video>, keyed by participant id. */
export async function remoteVideoWidths(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const tile of document.querySelectorAll<HTMLElement>('[data-testid="tile"][data-local="false"]')) {
      const video = tile.querySelector('video');
      out[tile.dataset.participant ?? '?'] = video?.videoWidth ?? 0;
    }
    return out;
  });
}

/** A Playwright page, or a page object holding one (MeetingPage). */
export type PageLike = Page | { readonly page: Page };
const pageOf = (p: PageLike): Page => ('page' in p && typeof (p as any).goto !== 'function' ? (p as { page: Page }).page : (p as Page));

export interface FlowExpectation {
  /** How many remote participants this page should receive media from. */
  remotes: number;
  /** Also require inbound audio packets to rise (default true). */
  audio?: boolean;
  /** Also require inbound video frames to be decoded and rise (default true). */
  video?: boolean;
  timeout?: number;
}

/**
 * Asserts that media really flows into `page`: one remote tile per remote participant whose <video> has a
 * size, one peer connection each, and over one second framesDecoded (video) and packetsReceived (audio)
 * rising on every one of them.
 */
export async function expectMediaFlowing(target: PageLike, { remotes, audio = true, video = true, timeout = 30_000 }: FlowExpectation) {
  const page = pageOf(target);
  const deadline = Date.now() + timeout;
  const remaining = () => Math.max(1_000, deadline - Date.now());

  await expect(page.locator('[data-testid="tile"][data-local="false"]'), 'remote tiles').toHaveCount(remotes, {
    timeout: remaining(),
  });
  if (video) {
    await expect
      .poll(async () => Object.values(await remoteVideoWidths(page)).filter((w) => w > 0).length, {
        message: 'remote <video> elements with videoWidth > 0',
        timeout: remaining(),
      })
      .toBe(remotes);
  }
  await expect
    .poll(
      async () => {
        const before = await peerStats(page);
        await page.waitForTimeout(1_000);
        const after = await peerStats(page);
        const problems: string[] = [];
        const ids = Object.keys(after);
        if (ids.length !== remotes) problems.push(`${ids.length} peer connections in __nonstop.peers, expected ${remotes}`);
        for (const id of ids) {
          const a = after[id];
          const b = before[id] ?? { framesDecoded: 0, audioPacketsReceived: 0 };
          if (video && !(a.framesDecoded > b.framesDecoded))
            problems.push(`peer ${id}: framesDecoded ${b.framesDecoded} -> ${a.framesDecoded} (${a.connectionState})`);
          if (audio && !(a.audioPacketsReceived > b.audioPacketsReceived))
            problems.push(`peer ${id}: audio packetsReceived ${b.audioPacketsReceived} -> ${a.audioPacketsReceived} (${a.connectionState})`);
        }
        return problems;
      },
      { message: 'inbound media rising on every peer connection', timeout: remaining(), intervals: [0] },
    )
    .toEqual([]);
}

/** Asserts that the `kind` tile of participant `id` decodes frames of its own: its count rises over one second. */
export async function expectTileDecoding(target: PageLike, id: number, kind: TileKind, { timeout = 20_000 } = {}) {
  const page = pageOf(target);
  await expect
    .poll(
      async () => {
        const before = await tileFramesDecoded(page, id, kind);
        await page.waitForTimeout(1_000);
        const after = await tileFramesDecoded(page, id, kind);
        return `${kind} of ${id}: framesDecoded ${before} -> ${after}${before !== null && after !== null && after > before ? ' (rising)' : ''}`;
      },
      { message: `frames decoded on the ${kind} track of ${id} itself`, timeout, intervals: [0] },
    )
    .toMatch(/\(rising\)$/);
}

/**
 * Samples, every 200 ms for `ms`, how many video frames each page decodes from the participant named with it,
 * and asserts that frames keep coming: some in every second. A counter that starts over (Firefox sometimes
 * recreates a receive stream, and its `framesDecoded` with it) counts from zero.
 */
export async function expectDecodingGoesOn(
  pairs: [{ readonly page: Page; readonly name: string }, number][],
  ms: number,
  when: string,
): Promise<void> {
  const decoded = async () =>
    Promise.all(pairs.map(async ([p, from]) => (await peerStats(p.page))[String(from)]?.framesDecoded ?? 0));
  let last = await decoded();
  const lastProgress = pairs.map(() => Date.now());
  const frames = pairs.map(() => 0);
  const longestStall = pairs.map(() => 0);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await decoded();
    const at = Date.now();
    now.forEach((n, i) => {
      const more = n >= last[i] ? n - last[i] : n;
      if (more > 0) {
        frames[i] += more;
        lastProgress[i] = at;
      }
      longestStall[i] = Math.max(longestStall[i], at - lastProgress[i]);
    });
    last = now;
  }
  pairs.forEach(([p, from], i) => {
    const what = `${p.name} decoding ${from} ${when}: ${frames[i]} frames in ${ms} ms, longest stall ${longestStall[i]} ms`;
    expect(frames[i], what).toBeGreaterThan(0);
    expect(longestStall[i], what).toBeLessThan(1_500);
  });
}
