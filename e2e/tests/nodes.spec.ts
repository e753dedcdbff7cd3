/**
 * Two signaling nodes sharing one Redis, behind a load balancer (issue 11). Ada's socket lands on node A,
 * Bob's on node B: they are in one call all the same (the room lives on A, B forwards Bob's socket to it).
 * Then A crashes: both resume through B, with their ids, and their media never stops.
 */
import { expect, test } from '../support/fixtures';
import { LoadBalancer, RedisServer } from '../support/cluster';
import { expectDecodingGoesOn, expectMediaFlowing } from '../support/media';
import { RestartableServer } from '../support/restartable-server';
import * as fs from 'node:fs';

/** When (ms since the epoch, by the log's timestamps) a node's log said `what`, each time. */
function logged(server: RestartableServer, what: string): number[] {
  return fs
    .readFileSync(server.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes(what))
    .map((l) => Date.parse(l.slice(0, l.indexOf(' '))));
}

test('participants on two nodes share one call, and resume through the other node when theirs crashes, media never stopping', async ({
  participant,
  room,
  kind,
}, testInfo) => {
  test.setTimeout(120_000);
  const redis = await RedisServer.start(testInfo.outputPath('redis'));
  const nodeArgs = ['--redis-url', redis.url];
  const a = await RestartableServer.start(testInfo.outputPath('node-a.log'), nodeArgs);
  const b = await RestartableServer.start(testInfo.outputPath('node-b.log'), nodeArgs);
  const balancer = await LoadBalancer.start([a.addr, b.addr]);
  try {
    balancer.prefer(a.addr);
    const ada = await participant('Ada', { server: balancer });
    const adaId = await ada.join(room);
    balancer.prefer(b.addr);
    const bob = await participant('Bob', { server: balancer });
    const bobId = await bob.join(room);
    await expect(ada.tileOf(bobId)).toBeVisible({ timeout: 10_000 });
    await expect(bob.tileOf(adaId)).toBeVisible({ timeout: 10_000 });
    await expectMediaFlowing(ada, { remotes: 1 });
    await expectMediaFlowing(bob, { remotes: 1 });
    // Bob's page and socket came through B; the room's home, A, admitted both.
    expect(balancer.connections[b.addr], 'Bob reached node B').toBeGreaterThan(0);
    expect(logged(a, ' joined ').length, "node A, the room's home, admitted Ada and Bob").toBe(2);
    expect(logged(b, ' joined ').length, 'node B admitted nobody itself').toBe(0);

    await a.kill();
    const crashed = Date.now();
    // While the call moves to B: media flows both ways all along (browser to browser).
    await expectDecodingGoesOn([[ada, bobId], [bob, adaId]], 8_000, 'while node A is dead');

    // Both are back on signaling, through B: a newcomer sees both, and both see the newcomer.
    const cy = await participant('Cy', { server: balancer });
    const cyId = await cy.join(room);
    await expect(cy.tileOf(adaId)).toBeVisible({ timeout: 10_000 });
    await expect(cy.tileOf(bobId)).toBeVisible({ timeout: 10_000 });
    await expect(ada.tileOf(cyId)).toBeVisible({ timeout: 10_000 });
    await expect(bob.tileOf(cyId)).toBeVisible({ timeout: 10_000 });
    const readmitted = logged(b, ' re-admitted ').map((at) => at - crashed);
    const measured = `${kind}: node A crashed; node B re-admitted Ada and Bob ${readmitted.join(' and ')} ms after`;
    console.log(measured);
    testInfo.annotations.push({ type: 'measured', description: measured });
    expect(readmitted.length, 'node B re-admitted Ada and Bob').toBe(2);
    // A dead node is noticed after 3 s without heartbeats; clients retry every 250 to 1,000 ms.
    expect(Math.max(...readmitted), 'both are back within seconds').toBeLessThan(6_000);

    expect(await ada.id()).toBe(adaId);
    expect(await bob.id()).toBe(bobId);
    await expectMediaFlowing(cy, { remotes: 2, timeout: 40_000 });
    await expectDecodingGoesOn([[ada, bobId], [bob, adaId]], 1_500, 'after the move');
    await expect(ada.alerts).toHaveCount(0);
    await expect(bob.alerts).toHaveCount(0);
  } finally {
    await balancer.stop();
    await a.kill();
    await b.kill();
    redis.stop();
  }
});
