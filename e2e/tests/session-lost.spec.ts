/**
 * Signaling comes back but the server no longer knows the session (`resume_failed`: away longer than the
 * resume grace): the page joins afresh by itself, same room, name and media, instead of showing "lost the
 * connection". Participants in their own network namespaces (support/topology.ts), in either browser.
 */
import { test, expect } from '../support/fixtures';
import { createTopology } from '../support/topology';
import { joinInNamespace } from '../support/topology-call';
import { expectMediaFlowing } from '../support/media';

test('a participant whose session the server dropped joins again by itself', async ({ room, kind }, testInfo) => {
  test.setTimeout(90_000);
  const net = await createTopology({ participants: 2 });
  try {
    // A short heartbeat and resume grace: the server gives up on a silent participant within about 2.5 s.
    await net.startServer({
      logFile: testInfo.outputPath('server.log'),
      extraArgs: ['--heartbeat-interval-ms', '500', '--heartbeat-timeout-ms', '2000', '--resume-grace-ms', '500'],
    });
    const ada = await joinInNamespace(net, 0, 'Ada', room, { browser: kind });
    const bob = await joinInNamespace(net, 1, 'Bob', room, { browser: kind });
    await expectMediaFlowing(ada.p, { remotes: 1, timeout: 30_000 });
    await expectMediaFlowing(bob.p, { remotes: 1, timeout: 20_000 });

    // Bob loses the signaling server (not the media) long enough for the server to drop his session.
    net.cutSignaling(1);
    await expect(ada.p.tileOf(bob.id), 'the server told Ada that Bob left').toHaveCount(0, { timeout: 15_000 });
    net.unblock(1);

    // Bob's page resumes, is refused, and joins afresh: a new id, seen by Ada, media both ways again.
    const newBob = await bob.p.waitForNewId(bob.id);
    await expect(ada.p.tileOf(newBob)).toBeVisible({ timeout: 15_000 });
    await expect(bob.p.tileOf(ada.id)).toBeVisible({ timeout: 15_000 });
    await expectMediaFlowing(ada.p, { remotes: 1, timeout: 30_000 });
    await expectMediaFlowing(bob.p, { remotes: 1, timeout: 15_000 });
    await bob.p.expectParticipantCount(2);
    await expect(bob.p.page.getByRole('alert')).toHaveCount(0);
    expect(await bob.p.page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  } finally {
    await net.destroy();
  }
});
