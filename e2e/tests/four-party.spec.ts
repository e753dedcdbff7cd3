import { test } from '../support/fixtures';
import { expectMediaFlowing } from '../support/media';

test('four participants: each decodes three remote videos', async ({ participant, room }) => {
  // Four encoders and twelve streams on two cores: joins and first frames take a while.
  test.setTimeout(180_000);
  const names = ['Ada', 'Grace', 'Linus', 'Barbara'];
  const people = [];
  for (const name of names) {
    const p = await participant(name);
    await p.join(room);
    people.push(p);
  }
  for (const p of people) {
    await p.expectParticipantCount(4, 30_000);
  }
  for (const p of people) {
    await expectMediaFlowing(p, { remotes: 3, timeout: 60_000 });
  }
});
