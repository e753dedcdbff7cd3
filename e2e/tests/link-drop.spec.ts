/**
 * A participant's network goes down (its interface, inside its own network namespace, see
 * support/topology.ts) and comes back: the call recovers by itself, without a reload. Two outcomes, each
 * forced by the server's timings rather than left to chance:
 * - the server still holds the session when the link is back: the page **resumes** it (same participant
 *   id, `resumed` with `continued`, no second `join`; the others never see it leave);
 * - the server dropped the session meanwhile: the page joins afresh by itself (a new id, a new tile for the
 *   others).
 * Both browsers: every participant runs the project's browser in its namespace (Firefox through
 * support/topology-firefox.ts).
 */
import { test, expect, type BrowserKind } from '../support/fixtures';
import { createTopology, type Topology } from '../support/topology';
import { joinInNamespace } from '../support/topology-call';
import { expectMediaFlowing, peerStats } from '../support/media';
import type { TestInfo } from '@playwright/test';

/** The server's timings, as flags: its heartbeat and how long it holds a session whose socket died. */
const serverTimings = (t: { intervalMs: number; timeoutMs: number; resumeGraceMs: number }) => [
  '--heartbeat-interval-ms',
  String(t.intervalMs),
  '--heartbeat-timeout-ms',
  String(t.timeoutMs),
  '--resume-grace-ms',
  String(t.resumeGraceMs),
];

type Participant = Awaited<ReturnType<typeof joinInNamespace>>;

/**
 * Ada and Bob in their own namespaces (the project's browser), media flowing both ways, then `scenario`.
 * Should it fail: what each page logged and said on its signaling socket, and the server's log, are attached.
 */
async function inCallOfTwo(
  { room, kind, testInfo, serverArgs }: { room: string; kind: BrowserKind; testInfo: TestInfo; serverArgs: string[] },
  scenario: (net: Topology, ada: Participant, bob: Participant) => Promise<void>,
) {
  const net = await createTopology({ participants: 2 });
  const people: [string, Participant][] = [];
  try {
    const turnArgs = await net.startCoturn({ dir: testInfo.outputPath('coturn') });
    await net.startServer({ logFile: testInfo.outputPath('server.log'), extraArgs: [...turnArgs, ...serverArgs] });
    const ada = await joinInNamespace(net, 0, 'Ada', room, { browser: kind });
    people.push(['Ada', ada]);
    const bob = await joinInNamespace(net, 1, 'Bob', room, { browser: kind });
    people.push(['Bob', bob]);
    await expectMediaFlowing(ada.p, { remotes: 1, timeout: 45_000 });
    await expectMediaFlowing(bob.p, { remotes: 1, timeout: 20_000 });
    await scenario(net, ada, bob);
  } catch (e) {
    for (const [name, x] of people) {
      await testInfo.attach(`${name}-console.txt`, { body: x.p.consoleLines.join('\n') });
      const said = async (d: 'sent' | 'received') => (await x.signaling.messages(d).catch(() => [])).map((m) => m.type).join(' ');
      await testInfo.attach(`${name}-signaling.txt`, { body: `sent: ${await said('sent')}\nreceived: ${await said('received')}\n` });
    }
    await testInfo.attach('server.log', { path: testInfo.outputPath('server.log') }).catch(() => {});
    throw e;
  } finally {
    await net.destroy();
  }
}

test.describe('link drop', () => {
  test.describe.configure({ timeout: 150_000 });

  test('a participant whose link is down for 6 s resumes its session without a reload', async ({ room, kind }, testInfo) => {
    // The server holds a silent participant for 60 s plus 3 s of grace, far longer than the outage. The
    // page gives up on its socket after 3 pings' silence plus 1 s (4 s), within the outage, and must resume
    // as soon as the link is back: its resume makes the server check the old socket (2 s), not wait out
    // the 60 s (measured 0.2 s after the link came back; it was 53 s while the page waited for Chromium to
    // close the old socket).
    // In Firefox the interface going down fails the connection's DTLS along with its ICE, and an ICE restart
    // brings back ICE only: the page replaces the connection, and the other side follows (see mesh/mod.rs).
    const serverArgs = serverTimings({ intervalMs: 1_000, timeoutMs: 60_000, resumeGraceMs: 3_000 });
    await inCallOfTwo({ room, kind, testInfo, serverArgs }, async (net, ada, bob) => {
      // Watch, in Ada's page, whether Bob's tile says "Reconnecting…": the app notices media stopped
      // (about 2 s without packets), before the browser declares the link `disconnected`.
      await ada.p.page.evaluate((id) => {
        const w = window as any;
        w.__sawReconnecting = false;
        w.__reconnectWatch = setInterval(() => {
          const status = document.querySelector(`[data-testid="tile"][data-participant="${id}"] [role="status"]`);
          if (status?.textContent?.includes('Reconnecting')) w.__sawReconnecting = true;
        }, 100);
      }, bob.id);
      net.setLinkUp(1, false);
      await ada.p.page.waitForTimeout(1_000);
      const during = (await peerStats(ada.p.page))[String(bob.id)].framesDecoded;
      await ada.p.page.waitForTimeout(5_000);
      // The outage is real: nothing of Bob's arrives at Ada while his link is down.
      expect((await peerStats(ada.p.page))[String(bob.id)].framesDecoded, 'frames from Bob during the outage').toBe(during);
      expect(
        await ada.p.page.evaluate(() => (window as any).__sawReconnecting),
        'Bob\'s tile says "Reconnecting…" during the outage, not a frozen frame with no explanation',
      ).toBe(true);
      net.setLinkUp(1, true);
      const upAt = Date.now();

      // Within 20 s media flows both ways again, on the same pages (no reload).
      await expectMediaFlowing(ada.p, { remotes: 1, timeout: 20_000 });
      await expectMediaFlowing(bob.p, { remotes: 1, timeout: Math.max(1_000, 20_000 - (Date.now() - upAt)) });
      console.log(`link-drop (${kind}): media flowing both ways ${((Date.now() - upAt) / 1000).toFixed(1)} s after the link came back`);
      // Signaling comes back too (media may be back first: it needs no server): Bob's page resumes while
      // the server still holds his session, then shows no "Reconnecting to the meeting server…".
      await expect
        .poll(async () => (await bob.signaling.of('received', 'resumed')).length, { message: '`resumed` received by Bob', timeout: 10_000 })
        .toBeGreaterThan(0);
      const resumed = await bob.signaling.of('received', 'resumed');
      const tries = (await bob.signaling.of('sent', 'resume')).map((m) => ((m._at - upAt) / 1000).toFixed(1));
      console.log(`link-drop (${kind}): Bob resumed ${((resumed[0]._at - upAt) / 1000).toFixed(1)} s after the link came back (resume sent at ${tries.join(', ')} s)`);
      await expect(bob.p.page.getByRole('alert')).toHaveCount(0, { timeout: 10_000 });

      // Resumed, not joined afresh: same id, the server said `resumed` (continued), one `join` ever.
      expect(await bob.p.id(), "Bob's participant id").toBe(bob.id);
      expect(resumed, '`resumed` received by Bob').toContainEqual(expect.objectContaining({ you: bob.id, continued: true }));
      expect((await bob.signaling.of('sent', 'resume')).length, '`resume` sent by Bob').toBeGreaterThan(0);
      expect((await bob.signaling.of('sent', 'join')).length, '`join` sent by Bob').toBe(1);
      // For Ada, Bob never left.
      expect(await ada.signaling.of('received', 'left'), '`left` received by Ada').toEqual([]);
      expect((await ada.signaling.of('received', 'joined')).length, '`joined` received by Ada').toBe(1);

      await expect(ada.p.tileOf(bob.id).getByRole('status')).toHaveCount(0, { timeout: 10_000 });
      await expect(bob.p.tileOf(ada.id)).toBeVisible();
      expect(await ada.p.page.evaluate(() => (window as any).__sameDocument)).toBe(true);
      expect(await bob.p.page.evaluate(() => (window as any).__sameDocument)).toBe(true);
      await expectMediaFlowing(ada.p, { remotes: 1, timeout: 15_000 });
      await expectMediaFlowing(bob.p, { remotes: 1, timeout: 15_000 });
    });
  });

  test('a participant whose link is down longer than the server holds its session joins afresh by itself', async ({ room, kind }, testInfo) => {
    // The server drops a silent participant within 3 s (no pong) + 1 s (grace) of the link going down.
    const serverArgs = serverTimings({ intervalMs: 1_000, timeoutMs: 3_000, resumeGraceMs: 1_000 });
    await inCallOfTwo({ room, kind, testInfo, serverArgs }, async (net, ada, bob) => {
      net.setLinkUp(1, false);
      // The link stays down until the server has told Ada that Bob left.
      await expect(ada.p.tileOf(bob.id), 'the server told Ada that Bob left').toHaveCount(0, { timeout: 15_000 });
      net.setLinkUp(1, true);
      const upAt = Date.now();

      // Bob's page joins again (its resume refused): a new id, the others see his new tile, media both ways.
      const newBob = await bob.p.waitForNewId(bob.id);
      await expect(ada.p.tileOf(newBob)).toBeVisible({ timeout: 15_000 });
      await expectMediaFlowing(ada.p, { remotes: 1, timeout: 30_000 });
      await expectMediaFlowing(bob.p, { remotes: 1, timeout: 15_000 });
      console.log(`link-drop (${kind}): joined afresh, media flowing both ways ${((Date.now() - upAt) / 1000).toFixed(1)} s after the link came back`);
      expect((await bob.signaling.of('sent', 'join')).length, '`join` sent by Bob: the first, then the fresh one').toBe(2);
      await expect(bob.p.page.getByRole('alert')).toHaveCount(0, { timeout: 10_000 });
      expect(await bob.p.page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    });
  });
});
