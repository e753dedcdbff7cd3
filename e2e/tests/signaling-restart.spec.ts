import { expect, test } from '../support/fixtures';
import { expectMediaFlowing, peerStats } from '../support/media';
import { RestartableServer } from '../support/restartable-server';

test('a call survives the signaling server being killed for 10 s and restarted', async ({ participant, room, kind }, testInfo) => {
  test.skip(kind !== 'chromium', 'one browser is enough for the signaling path');
  test.setTimeout(120_000);
  const server = await RestartableServer.start(testInfo.outputPath('server.log'));
  try {
    const ada = await participant('Ada', { server });
    const bob = await participant('Bob', { server });
    const adaId = await ada.join(room);
    const bobId = await bob.join(room);
    await expectMediaFlowing(ada, { remotes: 1 });
    await expectMediaFlowing(bob, { remotes: 1 });

    // Each remote tile shows the link's route: here, on loopback, direct.
    await expect(ada.tileOf(bobId).getByTestId('route')).toHaveAttribute('data-route', 'direct');

    await server.kill();
    const killedAt = Date.now();
    // During the outage: the media keeps flowing, both ways, with nobody's tile gone.
    for (let i = 0; i < 3; i++) {
      const before = await peerStats(bob.page);
      await bob.page.waitForTimeout(3_000);
      const after = await peerStats(bob.page);
      expect(after[String(adaId)].framesDecoded, 'Bob keeps decoding Ada during the outage').toBeGreaterThan(
        before[String(adaId)].framesDecoded,
      );
    }
    await expect(ada.tileOf(bobId)).toBeVisible();
    await expect(bob.tileOf(adaId)).toBeVisible();
    await bob.page.waitForTimeout(Math.max(0, 10_000 - (Date.now() - killedAt)));
    await server.up();

    // Afterwards both are back on signaling: a newcomer joins and sees both, and both see the newcomer.
    const cy = await participant('Cy', { server });
    const cyId = await cy.join(room);
    await expect(cy.tileOf(adaId)).toBeVisible({ timeout: 20_000 });
    await expect(cy.tileOf(bobId)).toBeVisible({ timeout: 20_000 });
    await expectMediaFlowing(cy, { remotes: 2, timeout: 40_000 });
    await expect(ada.tileOf(cyId)).toBeVisible();
    await expect(bob.tileOf(cyId)).toBeVisible();
    // The old link never went away: Ada and Bob still have their original ids and media.
    expect(await ada.id()).toBe(adaId);
    await expectMediaFlowing(ada, { remotes: 2 });
    await expect(ada.page.getByRole('alert')).toHaveCount(0);
  } finally {
    await server.kill();
  }
});
