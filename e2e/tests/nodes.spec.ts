/**
 * Two signaling nodes sharing one Redis, behind a load balancer (issue 11). Ada's socket lands on node A,
 * Bob's on node B: they are in one call all the same (the room lives on A, B forwards Bob's socket to it).
 * Then A crashes: both resume through B, with their ids, and their media never stops; a newcomer who clicks
 * Join at that moment is told `going_away` and gets in by herself. And a call whose
 * participants are on two nodes moves to relayed through the one Janus both nodes use, and back.
 */
import { expect, test } from '../support/fixtures';
import { LoadBalancer, RedisServer } from '../support/cluster';
import { expectDecodingGoesOn, expectMediaFlowing, peerStats } from '../support/media';
import { expectCommitted, expectDecoding, gaps, inCallWithJanus, summary, topologyAt, watchGaps } from '../support/relayed';
import { SECOND_NODE_PORT } from '../support/topology';
import { joinInNamespace } from '../support/topology-call';
import { RestartableServer } from '../support/restartable-server';
import * as fs from 'node:fs';

/** When (ms since the epoch, by the log's timestamps) a node's log said `what`, each time. */
function logged(server: { readonly logFile: string }, what: string): number[] {
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

    // Dee has the meeting open and clicks Join the moment A crashes. Her socket lands on B while the room still
    // lives on A (A is taken for dead after 3 s without heartbeats): B cannot serve her `join` and says
    // `going_away`. Her page asks again by itself until B has taken the room: no error, no second click.
    const dee = await participant('Dee', { server: balancer });
    await dee.gotoRoom(room);
    await a.kill();
    const crashed = Date.now();
    await dee.clickJoin();
    // While the call moves to B: media flows both ways all along (browser to browser).
    await expectDecodingGoesOn([[ada, bobId], [bob, adaId]], 8_000, 'while node A is dead');
    const deeId = await dee.waitInCall();
    await expect(dee.alerts).toHaveCount(0);
    const retries = dee.consoleLines.filter((l) => l.includes('join not answered')).length;
    console.log(`${kind}: Dee's first join, sent as node A crashed, was asked again ${retries} time(s) and admitted`);
    expect(retries, "Dee's join met going_away and was tried again by her page").toBeGreaterThan(0);

    // Both are back on signaling, through B: a newcomer sees both, and both see the newcomer.
    const cy = await participant('Cy', { server: balancer });
    const cyId = await cy.join(room);
    await expect(cy.tileOf(adaId)).toBeVisible({ timeout: 10_000 });
    await expect(cy.tileOf(bobId)).toBeVisible({ timeout: 10_000 });
    await expect(cy.tileOf(deeId)).toBeVisible({ timeout: 10_000 });
    await expect(ada.tileOf(cyId)).toBeVisible({ timeout: 10_000 });
    await expect(bob.tileOf(cyId)).toBeVisible({ timeout: 10_000 });
    await expect(ada.tileOf(deeId)).toBeVisible({ timeout: 10_000 });
    const readmitted = logged(b, ' re-admitted ').map((at) => at - crashed);
    const measured = `${kind}: node A crashed; node B re-admitted Ada and Bob ${readmitted.join(' and ')} ms after`;
    console.log(measured);
    testInfo.annotations.push({ type: 'measured', description: measured });
    expect(readmitted.length, 'node B re-admitted Ada and Bob').toBe(2);
    // A dead node is noticed after 3 s without heartbeats; clients retry every 250 to 1,000 ms.
    expect(Math.max(...readmitted), 'both are back within seconds').toBeLessThan(6_000);

    expect(await ada.id()).toBe(adaId);
    expect(await bob.id()).toBe(bobId);
    await expectMediaFlowing(cy, { remotes: 3, timeout: 40_000 });
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

test('a call across two nodes moves to relayed through the one Janus both use, and back to mesh', async ({ kind }, testInfo) => {
  test.setTimeout(240_000);
  const redis = await RedisServer.start(testInfo.outputPath('redis'));
  try {
    await inCallWithJanus(
      testInfo,
      ['--redis-url', redis.url, '--relay-above', '2', '--relay-hold-ms', '3000'],
      async (net, janus) => {
        // Node A is the topology's server; node B runs next to it in the hub, told of the same Janus and Redis.
        const nodeB = await net.startServer({
          logFile: testInfo.outputPath('node-b.log'),
          extraArgs: [...janus.serverArgs, '--redis-url', redis.url, '--relay-above', '2', '--relay-hold-ms', '3000'],
          port: SECOND_NODE_PORT,
        });
        const room = 'relayed-two-nodes';
        const ada = await joinInNamespace(net, 0, 'Ada', room);
        const grace = await joinInNamespace(net, 1, 'Grace', room, { url: nodeB.url });
        for (const p of [ada, grace]) await watchGaps(p.p.page);
        await expectDecoding(ada.p.page, [grace.id], 'Ada in mesh');
        await expectDecoding(grace.p.page, [ada.id], 'Grace (node B) in mesh');

        // The third, on node B too, makes the call relayed: everyone publishes to and receives from one Janus.
        const joinedAt = Date.now();
        const linus = await joinInNamespace(net, 2, 'Linus', room, { browser: kind, url: nodeB.url });
        await watchGaps(linus.p.page);
        const people = [ada, grace, linus];
        for (const p of people) await expectCommitted(p.signaling, 'relayed', joinedAt);
        console.log(`${kind}: relayed across two nodes, committed everywhere ${Date.now() - joinedAt} ms after the third joined`);
        for (const [i, p] of people.entries()) {
          const others = people.filter((o) => o !== p).map((o) => o.id);
          await expect.poll(async () => Object.keys(await peerStats(p.p.page)).length, { timeout: 15_000, message: `p${i} closed its mesh links` }).toBe(0);
          await expectDecoding(p.p.page, others, `p${i} relayed`);
        }
        // The video gap across the switch, as in relayed.spec.ts: from the first Prepare (less a margin) to now.
        const switchFrom = Math.min(...(await Promise.all(people.map((p) => topologyAt(p.signaling, 'relayed', 'prepare'))))) - 500;
        const switchTo = Date.now();
        const toRelayed: number[] = [];
        for (const p of people) {
          const g = await gaps(p.p.page, switchFrom, switchTo);
          for (const o of people) if (o !== p) toRelayed.push(g[String(o.id)].gap);
        }
        const measured = `${kind}: switch to relayed across two nodes, video gap ${JSON.stringify(summary(toRelayed))}`;
        console.log(measured);
        testInfo.annotations.push({ type: 'gaps', description: measured });
        for (const g of toRelayed) expect(g).toBeLessThan(2_000);
        // One home decided it all: node A (Ada's) admitted all three, node B forwarded two sockets.
        expect(logged({ logFile: testInfo.outputPath('server.log') }, ' joined ').length).toBe(3);
        expect(logged(nodeB, ' joined ').length).toBe(0);

        // Linus leaves: back to mesh after the hold, Ada and Grace still decoding each other.
        const leftAt = Date.now();
        await linus.p.leave();
        for (const p of [ada, grace]) await expectCommitted(p.signaling, 'mesh', leftAt);
        await expectDecoding(ada.p.page, [grace.id], 'Ada back in mesh');
        await expectDecoding(grace.p.page, [ada.id], 'Grace back in mesh');
      },
    );
  } finally {
    redis.stop();
  }
});
