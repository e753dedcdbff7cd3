/**
 * Every RTCPeerConnection a page makes, for getStats, and every WebSocket, to break the SFU's.
 * `window.__nonstop.peers` holds only the mesh's links; the SFU's two connections (publisher and subscriber) and
 * its socket are the app's own business, so tests that look at them install these wrappers before the app loads
 * and read `window.__allPcs` and `window.__sockets`.
 */
import type { Page } from '@playwright/test';

/** Records each RTCPeerConnection the page creates from now on (an init script: call before it opens the app). */
export async function recordPeerConnections(page: Page): Promise<void> {
  await recordInstances(page, 'RTCPeerConnection', '__allPcs');
}

/** Records each WebSocket the page opens from now on, in `window.__sockets` (an init script, as above). */
export async function recordSockets(page: Page): Promise<void> {
  await recordInstances(page, 'WebSocket', '__sockets');
}

/** Wraps the page's constructor `name` so that every instance made from now on lands in `window[list]`. */
async function recordInstances(page: Page, name: 'RTCPeerConnection' | 'WebSocket', list: string): Promise<void> {
  await page.addInitScript(
    ({ name, list }) => {
      const w = window as any;
      const Original = w[name];
      const all: unknown[] = (w[list] = []);
      w[name] = function (...args: any[]) {
        const made = new Original(...args);
        all.push(made);
        return made;
      };
      w[name].prototype = Original.prototype;
      Object.setPrototypeOf(w[name], Original);
    },
    { name, list },
  );
}

/** What each simulcast encoding the page sends carries now, by `rid`: width (0: not sent), frames per second, bytes sent, and what limits its quality. */
export async function sentLayers(page: Page): Promise<Record<string, { width: number; fps: number; bytes: number; limit: string }>> {
  return page.evaluate(async () => {
    const out: Record<string, { width: number; fps: number; bytes: number; limit: string }> = {};
    for (const pc of ((window as any).__allPcs ?? []) as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((r: any) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video' && r.rid) out[r.rid] = { width: r.frameWidth ?? 0, fps: r.framesPerSecond ?? 0, bytes: r.bytesSent ?? 0, limit: r.qualityLimitationReason ?? '' };
      });
    }
    return out;
  });
}

/** The page's simulcast encodings as its sender's `getParameters()` sets them, by `rid`: on, and the bit rate cap. */
export async function layerCaps(page: Page): Promise<Record<string, { active: boolean; maxBitrate: number }>> {
  return page.evaluate(() => {
    const out: Record<string, { active: boolean; maxBitrate: number }> = {};
    for (const pc of ((window as any).__allPcs ?? []) as RTCPeerConnection[]) {
      if (pc.connectionState === 'closed') continue;
      for (const sender of pc.getSenders()) {
        for (const e of sender.getParameters().encodings ?? []) {
          if (e.rid) out[e.rid] = { active: e.active !== false, maxBitrate: e.maxBitrate ?? 0 };
        }
      }
    }
    return out;
  });
}

/**
 * Closes the page's open WebSockets to the SFU (`/janus`), as a network that drops them would; how many. With
 * `again`, also the next one the page opens (before Janus can answer on it): a drop that lasts.
 */
export async function breakSfuSockets(page: Page, { again = false } = {}): Promise<number> {
  return page.evaluate(async (again) => {
    const all = (window as any).__sockets as WebSocket[];
    const sfu = (ws: WebSocket) => ws.url.includes('/janus');
    const open = all.filter((ws) => sfu(ws) && ws.readyState === WebSocket.OPEN);
    const known = new Set(all);
    for (const ws of open) ws.close();
    if (again) {
      const started = Date.now();
      while (Date.now() - started < 2_000) {
        const fresh = all.filter((ws) => sfu(ws) && !known.has(ws));
        if (fresh.length > 0) {
          for (const ws of fresh) ws.close();
          break;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    return open.length;
  }, again);
}
