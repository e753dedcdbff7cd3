/**
 * CPU of a four-person call: four Chromium participants (the fake 320x240 camera and microphone) in one
 * call; once media flows everywhere, the CPU time every Chromium process on the machine used over 30 s
 * (utime + stime from /proc), as a share of one core. Nothing else may run browsers meanwhile: the number
 * counts every Chromium process. Writes .cache/bench-cpu.json for scripts/bench to print.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from '../support/fixtures';
import { CACHE_DIR } from '../support/browsers';
import { expectMediaFlowing } from '../support/media';

const WINDOW_MS = 30_000;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU ticks (user + system) used so far by every process whose name starts with "chromium". */
function chromiumTicks(): number {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (!name.startsWith('chromium')) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the name.
    total += Number(fields[11]) + Number(fields[12]);
  }
  return total;
}

test('CPU of a four-person call', async ({ participant, room }) => {
  test.setTimeout(5 * 60_000);
  const people = [];
  for (const name of ['Ada', 'Grace', 'Linus', 'Barbara']) {
    const p = await participant(name);
    await p.join(room);
    people.push(p);
  }
  for (const p of people) await expectMediaFlowing(p, { remotes: 3, timeout: 90_000 });
  // Let joins and the adaptation settle.
  await people[0].page.waitForTimeout(10_000);
  const before = chromiumTicks();
  const started = Date.now();
  await people[0].page.waitForTimeout(WINDOW_MS);
  const seconds = (Date.now() - started) / 1000;
  const cores = (chromiumTicks() - before) / TICKS_PER_SECOND / seconds;
  for (const p of people) await expectMediaFlowing(p, { remotes: 3, timeout: 30_000 });
  const result = { seconds: Math.round(seconds), percentOfOneCore: Math.round(cores * 100) };
  console.log(`four-person call: Chromium used ${result.percentOfOneCore} % of one core over ${result.seconds} s`);
  fs.writeFileSync(path.join(CACHE_DIR, 'bench-cpu.json'), JSON.stringify(result));
});
