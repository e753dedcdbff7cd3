/**
 * Per-link send and receive counters read from a page's peer connections (window.__nonstop.peers), for the
 * adaptation tests and benchmark: what one participant sends to each peer (camera outbound-rtp), and what it
 * receives from each (inbound video/audio, freezes).
 */
import type { Page } from '@playwright/test';

export interface LinkCounters {
  at: number;
  /** Camera outbound-rtp (the first video one). */
  videoBytesSent: number;
  frameWidth: number;
  frameHeight: number;
  framesPerSecondSent: number;
  audioBytesSent: number;
  /** Inbound video from this peer. */
  framesDecoded: number;
  recvWidth: number;
  recvHeight: number;
  freezeCount: number;
  totalFreezesDuration: number;
  /** Inbound audio from this peer. */
  audioPacketsReceived: number;
  audioPacketsLost: number;
}

export type CountersByPeer = Record<string, LinkCounters>;

export async function linkCounters(page: Page): Promise<CountersByPeer> {
  return page.evaluate(async () => {
    const hook = (window as any).__nonstop as { peers?: Map<number, RTCPeerConnection> } | undefined;
    const out: Record<string, any> = {};
    if (!hook?.peers) return out;
    for (const [id, pc] of hook.peers) {
      // The camera's: the first video transceiver that sends, and the first that receives (each direction has its own).
      const firstVideoMid = (dirs: RTCRtpTransceiverDirection[]) =>
        pc.getTransceivers().find((t) => t.receiver.track.kind === 'video' && dirs.includes(t.direction))?.mid ?? null;
      const sendMid = firstVideoMid(['sendonly', 'sendrecv']);
      const recvMid = firstVideoMid(['recvonly', 'sendrecv']);
      const c = {
        at: performance.now(),
        videoBytesSent: 0, frameWidth: 0, frameHeight: 0, framesPerSecondSent: 0, audioBytesSent: 0,
        framesDecoded: 0, recvWidth: 0, recvHeight: 0, freezeCount: 0, totalFreezesDuration: 0,
        audioPacketsReceived: 0, audioPacketsLost: 0,
      };
      let seenVideoOut = false;
      let seenVideoIn = false;
      const report = await pc.getStats();
      report.forEach((r: any) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video' && !seenVideoOut && (r.mid === undefined || r.mid === sendMid)) {
          seenVideoOut = true;
          c.videoBytesSent = r.bytesSent ?? 0;
          c.frameWidth = r.frameWidth ?? 0;
          c.frameHeight = r.frameHeight ?? 0;
          c.framesPerSecondSent = r.framesPerSecond ?? 0;
        } else if (r.type === 'outbound-rtp' && r.kind === 'audio') {
          c.audioBytesSent += r.bytesSent ?? 0;
        } else if (r.type === 'inbound-rtp' && r.kind === 'video' && !seenVideoIn && (r.mid === undefined || r.mid === recvMid)) {
          seenVideoIn = true;
          c.framesDecoded = r.framesDecoded ?? 0;
          c.recvWidth = r.frameWidth ?? 0;
          c.recvHeight = r.frameHeight ?? 0;
          c.freezeCount = r.freezeCount ?? 0;
          c.totalFreezesDuration = r.totalFreezesDuration ?? 0;
        } else if (r.type === 'inbound-rtp' && r.kind === 'audio') {
          c.audioPacketsReceived += r.packetsReceived ?? 0;
          c.audioPacketsLost += r.packetsLost ?? 0;
        }
      });
      out[String(id)] = c;
    }
    return out;
  });
}

/** Rates between two readings of one link. */
export interface LinkRates {
  seconds: number;
  videoSendKbps: number;
  audioSendKbps: number;
  decodedFps: number;
  freezes: number;
  freezeSeconds: number;
  audioPackets: number;
  audioLost: number;
}

export function rates(before: LinkCounters, after: LinkCounters): LinkRates {
  const seconds = Math.max(0.001, (after.at - before.at) / 1000);
  return {
    seconds,
    videoSendKbps: ((after.videoBytesSent - before.videoBytesSent) * 8) / 1000 / seconds,
    audioSendKbps: ((after.audioBytesSent - before.audioBytesSent) * 8) / 1000 / seconds,
    decodedFps: (after.framesDecoded - before.framesDecoded) / seconds,
    freezes: after.freezeCount - before.freezeCount,
    freezeSeconds: after.totalFreezesDuration - before.totalFreezesDuration,
    audioPackets: after.audioPacketsReceived - before.audioPacketsReceived,
    audioLost: after.audioPacketsLost - before.audioPacketsLost,
  };
}

/** Reads all pages, waits `ms`, reads again: per page, per peer id, the rates in between. */
export async function measure(pages: Page[], ms: number): Promise<Record<string, LinkRates>[]> {
  const before = await Promise.all(pages.map(linkCounters));
  await new Promise((r) => setTimeout(r, ms));
  const after = await Promise.all(pages.map(linkCounters));
  return after.map((a, i) => {
    const out: Record<string, LinkRates> = {};
    for (const id of Object.keys(a)) if (before[i][id]) out[id] = rates(before[i][id], a[id]);
    return out;
  });
}

/**
 * Watches for `ms` how `page` receives video from each peer, reading stats every `everyMs`: the longest single
 * freeze (each time freezeCount rises, the rise of totalFreezesDuration divided among the new freezes) and the
 * rates over the whole window.
 */
export async function watchFreezes(page: Page, ms: number, everyMs = 250): Promise<Record<string, LinkRates & { longestFreeze: number }>> {
  const first = await linkCounters(page);
  let prev = first;
  const longest: Record<string, number> = {};
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, everyMs));
    const now = await linkCounters(page);
    for (const id of Object.keys(now)) {
      const a = prev[id];
      const b = now[id];
      if (!a) continue;
      const n = b.freezeCount - a.freezeCount;
      if (n > 0) longest[id] = Math.max(longest[id] ?? 0, (b.totalFreezesDuration - a.totalFreezesDuration) / n);
    }
    prev = now;
  }
  const out: Record<string, LinkRates & { longestFreeze: number }> = {};
  for (const id of Object.keys(prev)) if (first[id]) out[id] = { ...rates(first[id], prev[id]), longestFreeze: longest[id] ?? 0 };
  return out;
}

/** One second of what `page` sends to one peer: the encoding the app set, and what the browser reports. */
export interface SenderSecond {
  t: number;
  active: boolean;
  maxKbps: number;
  scale: number;
  maxFps: number;
  sentKbps: number;
  height: number;
  fps: number;
  limit: string;
  lost: number;
  rttMs: number;
  availableKbps: number;
}

/**
 * Samples every `everyMs` for `ms` how `page` sends video to `peer`: the sender's parameters (what the adaptation
 * controller decided) next to the browser's outbound stats, the remote's loss report and the transport estimate.
 * For a test to print when video on a link goes thin, so a failure says which side of the controller moved.
 */
export async function senderTrace(page: Page, peer: string, ms: number, everyMs = 1_000): Promise<SenderSecond[]> {
  return page.evaluate(async ({ peer, ms, everyMs }) => {
    const hook = (window as any).__nonstop as { peers?: Map<number, RTCPeerConnection> } | undefined;
    const out: any[] = [];
    let lastBytes: number | null = null;
    const start = performance.now();
    while (performance.now() - start < ms) {
      const pc = hook?.peers?.get(Number(peer));
      if (pc) {
        const sender = pc.getSenders().find((s) => s.track?.kind === 'video');
        const enc: any = sender?.getParameters().encodings?.[0] ?? {};
        const s: any = { t: Math.round((performance.now() - start) / 100) / 10, active: enc.active !== false, maxKbps: Math.round((enc.maxBitrate ?? 0) / 1000), scale: enc.scaleResolutionDownBy ?? 1, maxFps: enc.maxFramerate ?? 0, sentKbps: 0, height: 0, fps: 0, limit: '', lost: 0, rttMs: 0, availableKbps: 0 };
        const report = sender ? await sender.getStats() : new Map();
        report.forEach((r: any) => {
          if (r.type === 'outbound-rtp' && r.kind === 'video') {
            if (lastBytes !== null) s.sentKbps = Math.round(((r.bytesSent - lastBytes) * 8) / everyMs);
            lastBytes = r.bytesSent;
            s.height = r.frameHeight ?? 0;
            s.fps = r.framesPerSecond ?? 0;
            s.limit = r.qualityLimitationReason ?? '';
          } else if (r.type === 'remote-inbound-rtp' && r.kind === 'video') {
            s.lost = Math.round((r.fractionLost ?? 0) * 100);
          } else if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
            s.rttMs = Math.round((r.currentRoundTripTime ?? 0) * 1000);
            s.availableKbps = Math.round((r.availableOutgoingBitrate ?? 0) / 1000);
          }
        });
        out.push(s);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    return out;
  }, { peer, ms, everyMs });
}

/** `senderTrace` as compact lines, one per sample. */
export function formatTrace(trace: SenderSecond[]): string {
  return trace
    .map((s) => `${s.t.toFixed(1)}s ${s.active ? 'on ' : 'OFF'} max ${s.maxKbps} kb/s /${s.scale} ${s.maxFps}fps | sent ${s.sentKbps} kb/s ${s.height}p ${s.fps}fps ${s.limit} | lost ${s.lost}% rtt ${s.rttMs} ms avail ${s.availableKbps} kb/s`)
    .join('\n');
}

/**
 * Every candidate pair of every peer connection of a page, one line each, with the selected one marked, and the
 * page's warnings (restarts, replacements): printed when a route assertion fails, since CI keeps only stdout.
 */
export async function iceReport(page: Page, name: string, consoleLines: string[]): Promise<string> {
  const pairs = await page.evaluate(async () => {
    const peers = (window as any).__nonstop?.peers as Map<number, RTCPeerConnection> | undefined;
    const lines: string[] = [];
    for (const [id, pc] of peers ?? []) {
      const report = await pc.getStats();
      const byId = new Map<string, any>();
      report.forEach((r: any) => byId.set(r.id, r));
      const selected = new Set<string>();
      report.forEach((r: any) => {
        if (r.type === 'transport' && r.selectedCandidatePairId) selected.add(r.selectedCandidatePairId);
        if (r.type === 'candidate-pair' && r.selected) selected.add(r.id);
      });
      const cand = (c: any) => (c ? `${c.candidateType}/${c.protocol}${c.relayProtocol ? `(${c.relayProtocol})` : ''} ${c.address}:${c.port}` : '?');
      lines.push(`peer ${id}: ${pc.connectionState}, ice ${pc.iceConnectionState}, policy ${pc.getConfiguration().iceTransportPolicy}`);
      report.forEach((r: any) => {
        if (r.type !== 'candidate-pair') return;
        const mark = selected.has(r.id) ? '*' : ' ';
        lines.push(`  ${mark} ${r.state}${r.nominated ? ' nominated' : ''} ${cand(byId.get(r.localCandidateId))} -> ${cand(byId.get(r.remoteCandidateId))} sent ${r.bytesSent ?? 0} recv ${r.bytesReceived ?? 0}`);
      });
    }
    return lines;
  }).catch((e) => [`(no report: ${e})`]);
  const warnings = consoleLines.filter((l) => l.startsWith('[warning]') || l.startsWith('[error]')).slice(-20);
  return [`--- ${name}`, ...pairs, ...warnings.map((w) => `  ${w}`)].join('\n');
}

/**
 * What the page's connection to `peer` allows and found: its ICE transport policy, and whether a candidate
 * pair straight to `peerAddress` (no TURN allocation on either end) passed its connectivity checks.
 */
export async function directPathTo(page: Page, peer: number, peerAddress: string): Promise<{ policy?: string; succeeded: boolean }> {
  return page.evaluate(
    async ({ peer, peerAddress }) => {
      const pc = ((window as any).__nonstop?.peers as Map<number, RTCPeerConnection> | undefined)?.get(peer);
      if (!pc) return { succeeded: false };
      const report = await pc.getStats();
      const byId = new Map<string, any>();
      report.forEach((r: any) => byId.set(r.id, r));
      let succeeded = false;
      report.forEach((r: any) => {
        if (r.type !== 'candidate-pair' || r.state !== 'succeeded') return;
        const local = byId.get(r.localCandidateId);
        const remote = byId.get(r.remoteCandidateId);
        if (local?.candidateType !== 'relay' && remote?.address === peerAddress) succeeded = true;
      });
      return { policy: pc.getConfiguration().iceTransportPolicy, succeeded };
    },
    { peer, peerAddress },
  );
}
