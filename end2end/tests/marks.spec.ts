import { expect, test } from './fixtures';

test('a client records p2p:negotiating <= p2p:connecting <= p2p:connected', async ({ peers, room }) => {
  const [, bob] = await peers.join(room, ['alice', 'bob']);

  await expect
    .poll(async () => (await bob.marks()).connected.length, { message: 'p2p:connected marks' })
    .toBeGreaterThan(0);
  const marks = await bob.marks();
  expect(marks.negotiating.length, 'p2p:negotiating marks').toBeGreaterThan(0);
  expect(marks.connecting.length, 'p2p:connecting marks').toBeGreaterThan(0);

  // The first connection: its negotiating and connecting marks are the last ones before the first connected.
  const connected = marks.connected[0];
  const connecting = Math.max(...marks.connecting.filter((t) => t <= connected));
  const negotiating = Math.max(...marks.negotiating.filter((t) => t <= connecting));
  expect(Number.isFinite(connecting), `a p2p:connecting mark before ${connected}: ${marks.connecting}`).toBe(true);
  expect(Number.isFinite(negotiating), `a p2p:negotiating mark before ${connecting}: ${marks.negotiating}`).toBe(true);
  expect(negotiating).toBeLessThanOrEqual(connecting);
  expect(connecting).toBeLessThanOrEqual(connected);
  expect(marks.negotiating[0], 'the first mark is p2p:negotiating').toBeLessThanOrEqual(marks.connecting[0]);
});
