/**
 * Join latency: from the second participant's click on "Join meeting" to the first remote video frame
 * decoded on both sides. Timestamps are taken in the pages (performance.timeOrigin + performance.now(),
 * comparable across pages of one machine): the click from the event itself, the first frame from whichever
 * comes first of requestVideoFrameCallback on a remote tile's <video> and getStats() framesDecoded > 0
 * (polled every 5 ms). Writes .cache/bench-join.json for scripts/bench to print.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test, expect, type MeetingPage } from '../support/fixtures';
import { CACHE_DIR } from '../support/browsers';
import { armFirstFrameWatch, firstFrame, median } from '../support/first-frame';

const RUNS = Number(process.env.NONSTOP_BENCH_RUNS ?? 10);

test('join latency: click to first remote frame on both sides', async ({ participant, room }) => {
  const runs: { first: number; second: number; both: number; via: string[] }[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const r = `${room}-${i}`;
    const first = await participant(`First ${i}`);
    const second = await participant(`Second ${i}`);
    await first.join(r);
    await second.gotoRoom(r);
    await second.nameInput.fill(second.name);
    // Let the pre-join camera preview settle, as a person would see it before clicking.
    await expect.poll(() => second.preview.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
    await armFirstFrameWatch(first);
    await armFirstFrameWatch(second);
    await second.joinMeetingButton.evaluate((b) => {
      (window as any).__benchClick = new Promise<number>((resolve) =>
        b.addEventListener('click', (e) => resolve(performance.timeOrigin + e.timeStamp), { capture: true, once: true }),
      );
    });
    await second.joinMeetingButton.click();
    const clickAt: number = await second.page.evaluate(() => (window as any).__benchClick);
    const [a, b] = await Promise.all([firstFrame(first), firstFrame(second)]);
    const sample = {
      first: a.at - clickAt,
      second: b.at - clickAt,
      both: Math.max(a.at, b.at) - clickAt,
      via: [a.via, b.via],
    };
    if (i === 0) {
      console.log(`warm-up (not counted): ${sample.both.toFixed(0)} ms`);
    } else {
      runs.push(sample);
      console.log(
        `run ${i}: first participant ${sample.first.toFixed(0)} ms, joiner ${sample.second.toFixed(0)} ms, both ${sample.both.toFixed(0)} ms (${sample.via.join(', ')})`,
      );
    }
    await first.page.context().close();
    await second.page.context().close();
  }
  const both = runs.map((r) => r.both);
  const result = {
    runs: runs.length,
    medianMs: Math.round(median(both)),
    maxMs: Math.round(Math.max(...both)),
    minMs: Math.round(Math.min(...both)),
    medianFirstMs: Math.round(median(runs.map((r) => r.first))),
    medianJoinerMs: Math.round(median(runs.map((r) => r.second))),
    samplesMs: both.map((x) => Math.round(x)),
  };
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  fs.writeFileSync(path.join(CACHE_DIR, 'bench-join.json'), JSON.stringify(result, null, 2));
  console.log(`join latency over ${result.runs} runs: median ${result.medianMs} ms, max ${result.maxMs} ms`);
});
