/**
 * Binary, large and direct messages through the star (the chat page's probe panel, `?controls=1`):
 * - a 5 MiB binary message (20 times the old 256 KiB relay limit) from a client reaches the host and the other
 *   client exactly once and intact (chunked over the data channels, reassembled, delivered whole);
 * - a message one byte over `P2pConfig::max_message_bytes` (`?max_message=N`) is refused at the sender with an
 *   error and reaches nobody, while one of exactly the limit goes through;
 * - `send_to` reaches exactly its target (client to client through the host, host to client), the others see
 *   nothing, and a name not in the room is refused at once.
 */
import { expect, test } from './fixtures';
import { type RoomPage } from './pages';

const MiB = 1024 * 1024;

async function sendBytes(peer: RoomPage, size: number): Promise<void> {
  await peer.page.getByTestId('bulk-size').fill(String(size));
  await peer.page.getByTestId('bulk-send').click();
}

async function expectBulk(peer: RoomPage, expected: { from: string; size: number }[]): Promise<void> {
  const rows = peer.page.getByTestId('bulk-message');
  await expect(rows, `${peer.label}'s binary messages`).toHaveCount(expected.length, { timeout: 60_000 });
  for (const [i, { from, size }] of expected.entries()) {
    await expect(rows.nth(i)).toHaveAttribute('data-from', from);
    await expect(rows.nth(i)).toHaveAttribute('data-size', String(size));
    await expect(rows.nth(i)).toHaveAttribute('data-valid', 'true');
  }
}

async function sendDirect(peer: RoomPage, to: string, text: string): Promise<void> {
  await peer.page.getByTestId('dm-to').fill(to);
  await peer.page.getByTestId('dm-text').fill(text);
  await peer.page.getByTestId('dm-send').click();
}

async function expectDirect(peer: RoomPage, expected: string[]): Promise<void> {
  await expect(peer.page.getByTestId('direct-message'), `${peer.label}'s direct messages`).toHaveText(expected);
}

test('a 5 MiB binary message reaches every peer once and intact', async ({ peers, room }) => {
  const [alice, bob, carol] = await peers.join(room, ['alice', 'bob', 'carol'], 'controls=1');
  await bob.expectRole('client');
  await sendBytes(bob, 5 * MiB);
  await expect(bob.page.getByTestId('bulk-error')).toHaveText('');
  for (const peer of [alice, bob, carol]) await expectBulk(peer, [{ from: 'bob', size: 5 * MiB }]);
  // The links still carry chat after it, in one order everywhere.
  await carol.send('after the big one');
  for (const peer of [alice, bob]) await peer.expectLines([carol.lineOf('after the big one')]);
  await sendBytes(alice, 300 * 1024);
  for (const peer of [alice, bob, carol]) {
    await expectBulk(peer, [
      { from: 'bob', size: 5 * MiB },
      { from: 'alice', size: 300 * 1024 },
    ]);
  }
});

test('one byte over the size limit is refused at the sender and delivered nowhere', async ({ peers, room }) => {
  const limit = MiB;
  const [alice, bob] = await peers.join(room, ['alice', 'bob'], `controls=1&max_message=${limit}`);
  await sendBytes(bob, limit + 1);
  await expect(bob.page.getByTestId('bulk-error')).toHaveText(
    `a ${limit + 1} byte message is over the limit of ${limit} bytes`,
  );
  // Exactly the limit goes through; it is the only binary message anyone sees.
  await sendBytes(bob, limit);
  await expect(bob.page.getByTestId('bulk-error')).toHaveText('');
  for (const peer of [alice, bob]) await expectBulk(peer, [{ from: 'bob', size: limit }]);
});

test('send_to reaches exactly one peer', async ({ peers, room }) => {
  const [alice, bob, carol] = await peers.join(room, ['alice', 'bob', 'carol'], 'controls=1');
  await alice.expectPeers([
    { name: 'alice', host: true },
    { name: 'bob', host: false },
    { name: 'carol', host: false },
  ]);
  await bob.expectPeers([
    { name: 'alice', host: true },
    { name: 'bob', host: false },
    { name: 'carol', host: false },
  ]);
  await sendDirect(bob, 'carol', 'for carol only');
  await expectDirect(carol, ['bob (to you): for carol only']);
  await sendDirect(alice, 'bob', 'from the host');
  await expectDirect(bob, ['alice (to you): from the host']);
  await sendDirect(carol, 'alice', 'to the host');
  await expectDirect(alice, ['carol (to you): to the host']);
  // Each saw only its own; a room-wide line sent last arrives after every direct one was relayed.
  await bob.send('room line');
  for (const peer of [alice, carol]) await peer.expectLines([bob.lineOf('room line')]);
  await expectDirect(alice, ['carol (to you): to the host']);
  await expectDirect(bob, ['alice (to you): from the host']);
  await expectDirect(carol, ['bob (to you): for carol only']);
  for (const peer of [alice, bob, carol]) await expect(peer.page.getByTestId('dm-error')).toHaveText('');

  await sendDirect(bob, 'nobody', 'lost?');
  await expect(bob.page.getByTestId('dm-error')).toHaveText('nobody is not in the room');
});
