/**
 * A call switches to relayed mode through Janus and back, make before break (issue 9). The project's Janus
 * (support/project-janus.ts) and the signaling server run in the hub namespace, each participant's browser in
 * its own namespace; the server relays calls of more than 2 participants (`--relay-above 2`) and goes back to
 * mesh 3 s after the call shrank (`--relay-hold-ms 3000`).
 *
 * Two Chromium pages join (mesh), a third joins (Chromium, or Firefox in the firefox project): every page must switch to relayed (the server's commit, its mesh links
 * closed) and decode both others through Janus. The third leaves: after the hold the two are back in mesh,
 * still decoding each other. The video gap across each switch is measured in every page on every remote
 * camera tile: the tile's <video> `totalVideoFrames` sampled every 100 ms, the longest time without a new
 * frame from 500 ms before the first Prepare until every mesh link closed (or, back, until the two mesh
 * again). A new stream on the tile restarts the count, which is not counted as a frame.
 *
 * Also: Janus dies under a relayed call (back to mesh by itself, and relayed again once it is back); the
 * signaling server crashes under one (the restarted server, which knows nothing of the old SFU room, calls
 * everyone back to mesh as they return); one
 * participant's WebSocket to Janus drops (its session is claimed on a new socket: no gap), then drops for good
 * (its path is built again by itself: the gap is logged); a thin uplink moves a call of three to relayed.
 */
import { test, expect } from '../support/fixtures';
import { joinInNamespace } from '../support/topology-call';
import { peerStats } from '../support/media';
import { sendChat } from '../support/chat';
import { describeGaps, expectCommitted, expectDecoding, gaps, inCallWithJanus, summary, topologyAt, watchGaps } from '../support/relayed';
import { breakSfuSockets, recordSockets } from '../support/peer-connections';
import type { Topology } from '../support/topology';

/**
 * Ada, Grace (Chromium) and Linus (`kind`) in `room`, on a server that relays calls of three: committed to relayed,
 * their mesh links closed, each decoding the two others through Janus (gaps watched from the start).
 */
async function threeRelayed(net: Topology, room: string, kind: 'chromium' | 'firefox') {
  const people = [];
  for (const [i, name] of ['Ada', 'Grace', 'Linus'].entries()) people.push(await joinInNamespace(net, i, name, room, { browser: i === 2 ? kind : 'chromium' }));
  const ids = people.map((p) => p.id);
  for (const p of people) await watchGaps(p.p.page);
  for (const p of people) await expectCommitted(p.signaling, 'relayed', 0);
  for (const [i, p] of people.entries()) {
    await expect.poll(async () => Object.keys(await peerStats(p.p.page)).length, { timeout: 15_000, message: `p${i} closed its mesh links` }).toBe(0);
    await expectDecoding(p.p.page, ids.filter((id) => id !== p.id), `p${i} relayed`);
  }
  return { people, ids };
}

test.describe('Relayed mode', () => {
  test.describe.configure({ timeout: 240_000 });
  // In the firefox project the third participant (who joins, making the call relayed, and leaves) is Firefox.
  test('three participants switch to relayed through Janus and back to mesh when one leaves', async ({ kind }, testInfo) => {
    await inCallWithJanus(testInfo, ['--relay-above', '2', '--relay-hold-ms', '3000'], async (net) => {
      const room = 'relayed-switch';
      const people = [];
      for (const [i, name] of ['Ada', 'Grace'].entries()) people.push(await joinInNamespace(net, i, name, room));
      for (const [i, p] of people.entries()) p.p.page.on('console', (m) => m.type() === 'warning' && console.log(`p${i}: ${m.text()}`));
      const ids = people.map((p) => p.id);
      for (const p of people) await watchGaps(p.p.page);
      await expectDecoding(people[0].p.page, [ids[1]], 'Ada in mesh');
      await expectDecoding(people[1].p.page, [ids[0]], 'Grace in mesh');

      // The third joins: the call is relayed.
      const joinedAt = Date.now();
      const third = await joinInNamespace(net, 2, 'Linus', room, { browser: kind });
      third.p.page.on('console', (m) => m.type() === 'warning' && console.log(`p2: ${m.text()}`));
      people.push(third);
      ids.push(third.id);
      await watchGaps(third.p.page);
      for (const p of people) await expectCommitted(p.signaling, 'relayed', joinedAt);
      const committedAt = Date.now();
      console.log(`relayed committed everywhere ${committedAt - joinedAt} ms after the third joined`);
      for (const [i, p] of people.entries()) {
        const others = ids.filter((id) => id !== p.id);
        // No mesh link left: what the page decodes comes through Janus.
        await expect.poll(async () => Object.keys(await peerStats(p.p.page)).length, { timeout: 15_000, message: `p${i} closed its mesh links` }).toBe(0);
        await expectDecoding(p.p.page, others, `p${i} relayed`);
        // The route badge tells the truth: no tile still says "Direct".
        for (const id of others) await expect(p.p.tileOf(id).getByTestId('route')).toHaveText('Via SFU', { timeout: 5_000 });
      }
      // Speaker detection reads each microphone from the SFU's connection: Ada (Chromium's fake microphone
      // beeps) lights up on Linus's page, read by Linus's browser (Firefox in the firefox project); Grace,
      // muted (her track sends silence), never does. Not the other way round: Firefox's fake microphone is a
      // steady tone, which the detector's noise floor rightly takes for background noise after a few seconds.
      await people[1].p.button('Mute microphone').click();
      await expect(third.p.tileOf(people[0].id)).toHaveAttribute('data-speaking', 'true', { timeout: 20_000 });
      for (let i = 0; i < 6; i++) {
        await expect(third.p.tileOf(people[1].id)).toHaveAttribute('data-speaking', 'false');
        await third.p.page.waitForTimeout(500);
      }
      await people[1].p.button('Unmute microphone').click();
      // Chat still reaches everyone with no channel between browsers: it goes through the server.
      await sendChat(third.p, 'hello through the server');
      for (const p of people.slice(0, 2)) {
        const got = p.p.page.getByTestId('chat-message').last();
        await expect(got.getByTestId('chat-text')).toHaveText('hello through the server', { timeout: 5_000 });
        await expect(got.getByTestId('chat-from')).toHaveText('Linus');
      }
      // The switch: from the first Prepare (less a margin, to see the gap start) to now (every mesh link closed).
      const switchFrom = Math.min(...(await Promise.all(people.map((p) => topologyAt(p.signaling, 'relayed', 'prepare'))))) - 500;
      const switchTo = Date.now();
      const toRelayed: number[] = [];
      for (const [i, p] of people.entries()) {
        const g = await gaps(p.p.page, switchFrom, switchTo);
        console.log(`gaps on p${i} (${p.id}) across the switch to relayed (times from its commit): ${describeGaps(g, await topologyAt(p.signaling, 'relayed', 'commit'))}`);
        // Every tile counts from its first frame: the first two saw each other in mesh before the switch, the
        // third first saw them over its own (short-lived) mesh links or already through Janus.
        for (const id of ids) if (id !== p.id) toRelayed.push(g[String(id)].gap);
      }
      console.log(`switch to relayed, video gap: ${JSON.stringify(summary(toRelayed))}`);

      // The third leaves: after the hold, back to mesh.
      const leftAt = Date.now();
      await third.p.leave();
      for (const p of people.slice(0, 2)) await expectCommitted(p.signaling, 'mesh', leftAt);
      console.log(`mesh committed ${Date.now() - leftAt} ms after the third left`);
      for (const [i, p] of people.slice(0, 2).entries()) {
        await expect.poll(async () => Object.values(await peerStats(p.p.page)).map((s) => s.connectionState), { timeout: 10_000, message: `p${i} meshes again` }).toEqual(['connected']);
        await expectDecoding(p.p.page, [ids[1 - i]], `p${i} back in mesh`);
        await expect(p.p.tileOf(ids[1 - i]).getByTestId('route')).toHaveAttribute('data-route', 'direct', { timeout: 5_000 });
      }
      const backFrom = Math.min(...(await Promise.all(people.slice(0, 2).map((p) => topologyAt(p.signaling, 'mesh', 'prepare'))))) - 500;
      const backTo = Date.now();
      const toMesh: number[] = [];
      for (const [i, p] of people.slice(0, 2).entries()) {
        const g = await gaps(p.p.page, backFrom, backTo);
        console.log(`gaps on p${i} (${p.id}) across the switch back to mesh (times from its commit): ${describeGaps(g, await topologyAt(p.signaling, 'mesh', 'commit'))}`);
        toMesh.push(g[String(ids[1 - i])].gap);
      }
      console.log(`switch back to mesh, video gap: ${JSON.stringify(summary(toMesh))}`);
      testInfo.annotations.push({ type: 'gaps', description: `to relayed ${JSON.stringify(summary(toRelayed))}, to mesh ${JSON.stringify(summary(toMesh))}` });
      // The goal is 500 ms; a loaded 2-core machine gets some slack before this fails.
      for (const g of [...toRelayed, ...toMesh]) expect(g).toBeLessThan(2_000);
    });
  });

  test('Janus dies during a relayed call: the call goes back to mesh by itself, and to the SFU again once Janus is back', async ({ kind }, testInfo) => {
    await inCallWithJanus(testInfo, ['--relay-above', '2'], async (net, janus) => {
      const { people, ids } = await threeRelayed(net, 'relayed-janus-dies', kind);

      // Janus crashes. The server finds its room gone (a failed check, confirmed half a second later) and moves the call
      // back to mesh at once, without the hold: nobody reloads, no tile goes.
      const killedAt = Date.now();
      await janus.kill();
      for (const p of people) await expectCommitted(p.signaling, 'mesh', killedAt, 30_000);
      const meshAt = Date.now();
      for (const [i, p] of people.entries()) {
        const others = ids.filter((id) => id !== p.id);
        await expect.poll(async () => Object.values(await peerStats(p.p.page)).map((s) => s.connectionState), { timeout: 15_000, message: `p${i} meshes again` }).toEqual(['connected', 'connected']);
        await expectDecoding(p.p.page, others, `p${i} in mesh after Janus died`);
        for (const id of others) await expect(p.p.tileOf(id).getByTestId('route')).toHaveAttribute('data-route', 'direct', { timeout: 5_000 });
      }
      const prepared = Math.min(...(await Promise.all(people.map((p) => topologyAt(p.signaling, 'mesh', 'prepare')))));
      const all: number[] = [];
      for (const [i, p] of people.entries()) {
        const g = await gaps(p.p.page, killedAt - 500, Date.now());
        console.log(`gaps on p${i} after Janus died (times from its mesh commit): ${describeGaps(g, await topologyAt(p.signaling, 'mesh', 'commit'))}`);
        for (const id of ids) if (id !== p.id) all.push(g[String(id)].gap);
      }
      console.log(
        `Janus killed: mesh prepared after ${prepared - killedAt} ms, committed everywhere after ${meshAt - killedAt} ms; video gap ${JSON.stringify(summary(all))}`,
      );
      // Detection takes at most 2 s and a second check half a second later; building the mesh a second or two. No media can flow meanwhile.
      for (const g of all) expect(g).toBeLessThan(15_000);
      // Without Janus the call stays in mesh (it asks for a new SFU room now and then, in vain).
      for (const p of people) expect((await p.signaling.of('received', 'topology')).filter((m) => m._at > meshAt)).toEqual([]);

      // A supervisor starts Janus again, with new secrets and no rooms. The server reads the new secrets when
      // the old ones are refused, and the call, still above the threshold, moves to the new Janus by itself.
      const restartedAt = Date.now();
      await janus.restart();
      for (const p of people) await expectCommitted(p.signaling, 'relayed', restartedAt, 90_000);
      console.log(`Janus restarted: the call relayed again everywhere after ${Date.now() - restartedAt} ms (the server retries with backoff)`);
      for (const [i, p] of people.entries()) {
        await expect.poll(async () => Object.keys(await peerStats(p.p.page)).length, { timeout: 15_000, message: `p${i} closed its mesh links again` }).toBe(0);
        await expectDecoding(p.p.page, ids.filter((id) => id !== p.id), `p${i} relayed on the restarted Janus`);
      }
    });
  });

  test('the signaling server crashes under a relayed call: everyone resumes into the restarted one, which calls the three back to mesh', async ({ kind }, testInfo) => {
    // The same session secret across the restart, so that resume tokens stay good.
    const secret = ['--session-secret', 'e2e-session-secret'];
    await inCallWithJanus(testInfo, ['--relay-above', '2', ...secret], async (net, janus, server) => {
      const { people, ids } = await threeRelayed(net, 'relayed-server-crash', kind);
      for (const [i, p] of people.entries()) p.p.page.on('console', (m) => m.type() === 'warning' && console.log(`p${i}: ${m.text()}`));

      // The server crashes and a supervisor starts it again at once, relaying only above 3 people: the call the
      // three make again there is a mesh. It knows nothing of the old call's SFU room, and tells each one who
      // comes back to mesh. Ada (the oldest: the others offer to her) comes back last, her signaling cut
      // meanwhile: Grace and Linus offer to her while she is not in the restarted server's room (refused), and
      // offer again once she is.
      net.cutSignaling(0);
      await server.kill();
      const crashedAt = Date.now();
      await net.startServer({ logFile: testInfo.outputPath('server-restarted.log'), extraArgs: [...janus.serverArgs, '--relay-above', '3', ...secret] });
      const [ada, grace, linus] = people;
      for (const p of [grace, linus]) await expectCommitted(p.signaling, 'mesh', crashedAt, 30_000);
      await expectDecoding(grace.p.page, [linus.id], 'Grace in mesh, Ada not back');
      await expectDecoding(linus.p.page, [grace.id], 'Linus in mesh, Ada not back');
      await new Promise((r) => setTimeout(r, 3_000));
      // Not back yet, but her tile stays while the link to her is being made: she may be on her way.
      for (const p of [grace, linus]) await expect(p.p.tileOf(ada.id)).toBeVisible();
      net.unblock(0);
      const unblockedAt = Date.now();
      await expectCommitted(ada.signaling, 'mesh', crashedAt, 30_000);
      console.log(`Ada back and told mesh ${Date.now() - unblockedAt} ms after her signaling came back`);
      for (const [i, p] of people.entries()) {
        const others = ids.filter((id) => id !== p.id);
        await expect.poll(async () => Object.values(await peerStats(p.p.page)).map((s) => s.connectionState), { timeout: 20_000, message: `p${i} meshes with both` }).toEqual(['connected', 'connected']);
        await expectDecoding(p.p.page, others, `p${i} in mesh after the restart`);
        for (const id of others) await expect(p.p.tileOf(id).getByTestId('route')).toHaveAttribute('data-route', 'direct', { timeout: 5_000 });
      }
      // Grace and Linus, both back at once, kept seeing each other: the old SFU room carried them until the mesh did.
      const kept: number[] = [];
      for (const [p, other] of [[grace, linus], [linus, grace]]) {
        const g = await gaps(p.p.page, crashedAt - 500, Date.now());
        console.log(`gaps on ${p.id} after the crash (times from its mesh commit): ${describeGaps(g, await topologyAt(p.signaling, 'mesh', 'commit'))}`);
        kept.push(g[String(other.id)].gap);
      }
      console.log(`server crashed: video gap between the two back first ${JSON.stringify(summary(kept))}`);
      testInfo.annotations.push({ type: 'gaps', description: `server crash, between the two back first: ${JSON.stringify(summary(kept))}` });
      for (const g of kept) expect(g).toBeLessThan(5_000);
    });
  });

  test("a participant whose path to the SFU breaks builds it again by itself, and the call stays relayed", async ({ kind }, testInfo) => {
    await inCallWithJanus(testInfo, ['--relay-above', '2'], async (net) => {
      const room = 'relayed-path-lost';
      const people: Awaited<ReturnType<typeof joinInNamespace>>[] = [];
      // Ada's path breaks: Firefox's in the firefox project.
      for (const [i, name] of ['Ada', 'Grace', 'Linus'].entries()) people.push(await joinInNamespace(net, i, name, room, { browser: i === 0 ? kind : 'chromium', beforeJoin: i === 0 ? recordSockets : undefined }));
      const [ada] = people;
      const adaWarned: string[] = [];
      ada.p.page.on('console', (m) => {
        if (m.type() !== 'warning') return;
        adaWarned.push(m.text());
        console.log(`Ada: ${m.text()}`);
      });
      const ids = people.map((p) => p.id);
      for (const p of people) await watchGaps(p.p.page);
      for (const p of people) await expectCommitted(p.signaling, 'relayed', 0);
      for (const [i, p] of people.entries()) await expectDecoding(p.p.page, ids.filter((id) => id !== p.id), `p${i} relayed`);

      const worstGapSince = async (from: number, what: string) => {
        await ada.p.page.waitForTimeout(3_000);
        for (const [i, p] of people.entries()) await expectDecoding(p.p.page, ids.filter((id) => id !== p.id), `p${i} ${what}`);
        const worst: number[] = [];
        for (const [i, p] of people.entries()) {
          const g = await gaps(p.p.page, from, Date.now());
          worst.push(...Object.values(g).map((x) => x.gap));
          console.log(`gaps on p${i} ${what} (from then): ${describeGaps(g, from)}`);
        }
        return Math.max(...worst);
      };

      // Ada's WebSocket to Janus drops. Her connections to Janus do not need it: a new socket claims her Janus
      // session, and the media never stops.
      const brokeAt = Date.now();
      expect(await breakSfuSockets(ada.p.page), "Ada's open sockets to the SFU").toBe(1);
      const claimed = await worstGapSince(brokeAt, "after Ada's socket dropped");
      console.log(`Ada's socket to the SFU dropped: session claimed, worst video gap ${claimed} ms`);
      expect(claimed, 'no gap beyond the usual frame spacing').toBeLessThan(1_000);

      // It drops again, and so does the new one before Janus answers: her path is lost. She builds another: a new
      // session, which first claims and ends the old one, so that Janus does not refuse her id as taken.
      const lostAt = Date.now();
      const warnedBefore = adaWarned.length;
      expect(await breakSfuSockets(ada.p.page, { again: true }), "Ada's open sockets to the SFU").toBe(1);
      const rebuilt = await worstGapSince(lostAt, "after Ada's path was lost");
      console.log(`Ada's path to the SFU lost: rebuilt, worst video gap ${rebuilt} ms`);
      // Janus at times answers the destroy before its VideoRoom has let her id go: one refusal, tried again a
      // second later. Waiting for Janus to drop the old session instead meant one each second for about 4 s.
      const refused = adaWarned.slice(warnedBefore).filter((w) => w.includes('436'));
      expect(refused.length, `her join refused at most once: ${refused.join(' | ')}`).toBeLessThanOrEqual(1);
      expect(rebuilt, 'the gap is the rebuild, not the rest of the call').toBeLessThan(6_000);
      // The server was not involved: no switch.
      for (const p of people) expect((await p.signaling.of('received', 'topology')).filter((m) => m._at > brokeAt)).toEqual([]);
    });
  });

  test('a participant whose uplink cannot carry the mesh moves a call of three to relayed', async ({ kind }, testInfo) => {
    test.skip(kind === 'firefox', 'what an uplink report says is core logic; three Chromium pages show it');
    // The capped participant's WebSocket to Janus may drop during the switch, while its 150 kb/s uplink carries
    // the mesh and the new publication at once (make before break): seen in CI (1006), when nothing rebuilt the
    // path and it decoded nothing relayed. A new socket now claims its Janus session (4 of 4 runs here since).
    // The default threshold (relayed above 5): three participants stay in mesh while their uplinks carry it.
    await inCallWithJanus(testInfo, [], async (net) => {
      const room = 'relayed-uplink';
      const people: Awaited<ReturnType<typeof joinInNamespace>>[] = [];
      for (const [i, name] of ['Ada', 'Grace', 'Linus'].entries()) people.push(await joinInNamespace(net, i, name, room));
      for (const [i, p] of people.entries()) p.p.page.on('console', (m) => m.type() === 'warning' && console.log(`p${i}: ${m.text()}`));
      const ids = people.map((p) => p.id);
      for (const p of people) await watchGaps(p.p.page);
      for (const [i, p] of people.entries()) await expectDecoding(p.p.page, ids.filter((id) => id !== p.id), `p${i} in mesh`);
      // Their reports (after 10 s of readings) say the mesh fits: still in mesh.
      await expect.poll(async () => (await people[0].signaling.of('sent', 'uplink')).length, { timeout: 30_000, message: "Ada's first uplink report" }).toBeGreaterThan(0);
      const first = (await people[0].signaling.of('sent', 'uplink'))[0].bps as number;
      expect(first, "Ada's first uplink report, bit/s").toBeGreaterThan(2 * 120_000);
      for (const p of people) expect(await p.signaling.of('received', 'topology')).toEqual([]);

      // Ada's uplink drops to 150 kb/s: not enough for thin audio and the lowest video to each of two peers.
      const cappedAt = Date.now();
      net.capUplink(0, 150);
      const reports = async () => (await people[0].signaling.of('sent', 'uplink')).map((m) => `${Math.round((m.bps as number) / 1000)} kb/s at ${((m._at - cappedAt) / 1000).toFixed(1)} s`).join(', ');
      try {
        for (const p of people) await expectCommitted(p.signaling, 'relayed', cappedAt, 90_000);
      } catch (e) {
        await people[0].p.button('Show statistics').click();
        console.log(`Ada's uplink reports (times from the cap): ${await reports()}; her links: ${(await people[0].p.page.getByTestId('stats-panel').innerText()).replace(/\n/g, ' | ')}`);
        throw e;
      }
      console.log(`Ada's uplink reports (times from the cap): ${await reports()}; relayed committed everywhere ${((Date.now() - cappedAt) / 1000).toFixed(1)} s after the cap`);
      const last = (await people[0].signaling.of('sent', 'uplink')).at(-1)!;
      expect(last.bps, "Ada's last uplink report, bit/s").toBeLessThan(2 * 120_000);
      // Ada uploads once, to Janus; everyone receives everyone through it.
      for (const [i, p] of people.entries()) {
        await expect.poll(async () => Object.keys(await peerStats(p.p.page)).length, { timeout: 15_000, message: `p${i} closed its mesh links` }).toBe(0);
        await expectDecoding(p.p.page, ids.filter((id) => id !== p.id), `p${i} relayed`);
      }
    });
  });
});
