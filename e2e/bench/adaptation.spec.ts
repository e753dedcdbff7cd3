/**
 * Adaptation benchmark (not a pass/fail test; run by scripts/bench-adaptation, skipped otherwise): the capped
 * scenario of tests/adaptation.spec.ts, four participants each in their own namespace, the first one's uplink
 * capped at 600 kb/s with tbf, run twice in one go: with the app's adaptation controller on, and off
 * (localStorage "nonstop.adapt" = "off": the browser's own congestion control alone). After CONVERGE_MS under
 * the cap, MEASURE_MS of what the three others receive from the capped participant: delivered frames per
 * second, frame height, freezes per minute (inbound freezeCount), audio packet loss. Writes
 * .cache/bench-adaptation.json for the script to print.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, expect } from '../support/fixtures';
import { CACHE_DIR } from '../support/browsers';
import { createTopology } from '../support/topology';
import { startTopologyCall } from '../support/topology-call';
import { linkCounters, measure } from '../support/link-stats';

const CAP_KBIT = Number(process.env.NONSTOP_BENCH_CAP_KBIT ?? 600);
const CONVERGE_MS = Number(process.env.NONSTOP_BENCH_CONVERGE_MS ?? 15_000);
const MEASURE_MS = Number(process.env.NONSTOP_BENCH_MEASURE_MS ?? 30_000);

test.skip(!process.env.NONSTOP_BENCH_ADAPTATION, 'run through scripts/bench-adaptation');

export interface ModeResult {
  adapt: boolean;
  fps: number;
  height: number;
  freezesPerMinute: number;
  frozenSecondsPerMinute: number;
  audioLossPercent: number;
  sentVideoKbps: number;
}

async function run(adapt: boolean, room: string, logFile: string): Promise<ModeResult> {
  const net = await createTopology({ participants: 4 });
  try {
    const { people, ids } = await startTopologyCall(net, room, ['Capped', 'Ada', 'Grace', 'Linus'], { logFile, adapt, waitForMedia: false });
    const cappedId = String(ids[0]);
    // Everyone connected to everyone, then a few seconds for the links to ramp up.
    for (const p of people) await expect(p.remoteTiles).toHaveCount(3, { timeout: 60_000 });
    await expect.poll(async () => Object.keys(await linkCounters(people[0].page)).length, { timeout: 60_000 }).toBe(3);
    await people[0].page.waitForTimeout(10_000);
    net.capUplink(0, CAP_KBIT);
    await people[0].page.waitForTimeout(CONVERGE_MS);
    const pages = people.map((p) => p.page);
    const window = await measure(pages, MEASURE_MS);
    const heights = await Promise.all(pages.slice(1).map(async (p) => (await linkCounters(p))[cappedId]?.recvHeight ?? 0));
    const received = window.slice(1).map((w) => w[cappedId]);
    const minutes = MEASURE_MS / 60_000;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const packets = received.reduce((s, r) => s + r.audioPackets, 0);
    const lost = received.reduce((s, r) => s + Math.max(0, r.audioLost), 0);
    return {
      adapt,
      fps: mean(received.map((r) => r.decodedFps)),
      height: mean(heights),
      freezesPerMinute: mean(received.map((r) => r.freezes / minutes)),
      frozenSecondsPerMinute: mean(received.map((r) => r.freezeSeconds / minutes)),
      audioLossPercent: packets + lost > 0 ? (100 * lost) / (packets + lost) : 0,
      sentVideoKbps: Object.values(window[0]).reduce((s, r) => s + r.videoSendKbps, 0),
    };
  } finally {
    await net.destroy();
  }
}

test('adaptation on vs off, one uplink capped', async ({ room }, testInfo) => {
  test.setTimeout(10 * 60_000);
  const on = await run(true, `${room}-on`, testInfo.outputPath('server-on.log'));
  console.log('controller on:', JSON.stringify(on));
  const off = await run(false, `${room}-off`, testInfo.outputPath('server-off.log'));
  console.log('controller off:', JSON.stringify(off));
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  fs.writeFileSync(path.join(CACHE_DIR, 'bench-adaptation.json'), JSON.stringify({ capKbit: CAP_KBIT, measureMs: MEASURE_MS, on, off }, null, 2));
});
