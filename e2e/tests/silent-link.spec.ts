/**
 * A mesh link that connects but never carries the other side's media (seen once in Firefox: a link over TURN/TCP
 * after an ICE restart that sent nothing) is made anew by the side that receives nothing (core's
 * `call::silent_link`), and the new link carries the media. Forced here with a firewall rule in Ada's namespace
 * that drops the RTP and RTCP she sends and nothing else: STUN and DTLS pass, so her link to Bob is connected
 * both ways while Bob receives nothing from her. As soon as the link has its ports, the rule is narrowed to them:
 * the link stays silent for good, and only a new connection (new ports) gets through. Without the renewal Bob
 * never sees Ada. Both browsers.
 */
import type { Page } from '@playwright/test';
import { test, expect } from '../support/fixtures';
import { createTopology } from '../support/topology';
import { joinInNamespace } from '../support/topology-call';
import { expectMediaFlowing, peerStats } from '../support/media';
import { iceReport } from '../support/link-stats';

/** What the app logs when it makes a silent link anew (app/src/call/mesh). */
const RENEWED = 'connected, but nothing arrives on it; making the connection anew';

/** The UDP ports of the local candidates of the page's link to `peer` (none while it has no link). */
async function linkPorts(page: Page, peer: number): Promise<number[]> {
  return page.evaluate(async (peer) => {
    const pc = ((window as any).__nonstop?.peers as Map<number, RTCPeerConnection> | undefined)?.get(peer);
    const ports: number[] = [];
    (await pc?.getStats())?.forEach((r: any) => {
      if (r.type === 'local-candidate' && r.protocol === 'udp' && r.port) ports.push(r.port);
    });
    return [...new Set(ports)];
  }, peer);
}

test.describe('A mesh link that carries nothing', () => {
  test('Ada sends no RTP on her link to Bob: Bob makes the link anew, and her media reaches him on the new one', async ({ browserName }, testInfo) => {
    test.setTimeout(120_000);
    const kind = browserName === 'firefox' ? 'firefox' : 'chromium';
    const net = await createTopology({ participants: 2 });
    const people: [string, Awaited<ReturnType<typeof joinInNamespace>>][] = [];
    try {
      await net.startServer({ logFile: testInfo.outputPath('server.log') });
      // Before she joins: not one RTP packet of hers leaves (no TURN here: the only path is the direct one).
      net.silenceRtp(0);
      const ada = await joinInNamespace(net, 0, 'Ada', 'silent-link', { browser: kind });
      people.push(['Ada', ada]);
      const bob = await joinInNamespace(net, 1, 'Bob', 'silent-link', { browser: kind });
      people.push(['Bob', bob]);

      // As soon as her link to Bob has its ports, only this link is silenced: a new connection's ports get
      // through. (Before media flows: the link never carries a packet of hers.)
      let silenced: number[] = [];
      await expect.poll(async () => (silenced = await linkPorts(ada.p.page, bob.id)).length, { timeout: 30_000, intervals: [50], message: 'the ports of Ada’s link to Bob' }).toBeGreaterThan(0);
      net.silenceRtp(0, silenced);
      const silencedAt = Date.now();
      // The link comes up both ways (STUN and DTLS pass)...
      await expect.poll(async () => (await peerStats(bob.p.page))[String(ada.id)]?.connectionState, { timeout: 30_000 }).toBe('connected');
      // ...Bob has decoded nothing from Ada, while she gets his media.
      expect((await peerStats(bob.p.page))[String(ada.id)]?.framesDecoded ?? 0, 'Bob has decoded nothing from Ada').toBe(0);
      await expectMediaFlowing(ada.p, { remotes: 1, timeout: 20_000 });

      // The side that receives nothing makes the link anew (8 or 14 s, by negotiation role), and Ada's media
      // reaches Bob on the new connection.
      await expectMediaFlowing(bob.p, { remotes: 1, timeout: 40_000 });
      console.log(`Bob decodes Ada ${Date.now() - silencedAt} ms after her link was silenced for good`);
      expect(bob.p.consoleLines.filter((l) => l.includes(RENEWED)).length, 'Bob renewed his link to Ada').toBeGreaterThan(0);
      // Still silenced: it is the new connection that carries her media.
      expect(await linkPorts(ada.p.page, bob.id)).not.toEqual(silenced);
      expect(ada.p.consoleLines.filter((l) => l.includes(RENEWED)), 'Ada, who receives, renews nothing').toEqual([]);
      await expectMediaFlowing(ada.p, { remotes: 1 });
    } catch (e) {
      for (const [name, x] of people) console.log(await iceReport(x.p.page, name, x.p.consoleLines));
      throw e;
    } finally {
      await net.destroy();
    }
  });
});
