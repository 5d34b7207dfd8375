/**
 * The Stage room,
 * scaffolded by `cargo xtask new-room stage`.
 *
 * Peers sign in through the join form (which sets the identity cookie and lands on the chat room), open the room's
 * page, connect in a star around the first one, list each other, and all see a ping. Grow it with the room.
 */
import { expect, test, type Peers } from './fixtures';
import { type RoomPage } from './pages';

/** Path of the Stage room `room`. */
function roomPath(room: string): string {
  return `/stage/${encodeURIComponent(room)}`;
}

/**
 * Opens a peer named `name` (its own browser context), signs it in through the join form and opens the room. It
 * leaves the chat page the form redirects to as soon as that navigation commits.
 */
async function enter(peers: Peers, room: string, name: string): Promise<RoomPage> {
  const peer = await peers.open(name);
  peer.name = name;
  peer.room = room;
  await peer.home.goto();
  await peer.home.submitJoin(name, room);
  await peer.page.waitForURL((url) => url.pathname === peer.roomPath, { waitUntil: 'commit' });
  await peer.page.goto(roomPath(room));
  await expect(peer.page, `${name} should stay in the room`).toHaveURL(
    (url) => url.pathname === roomPath(room),
  );
  return peer;
}

test.describe('stage room', () => {
  test('peers connect through the host, list each other and see a ping', async ({ peers, room }) => {
    const host = await enter(peers, room, 'alice');
    await host.expectRole('host');
    const client = await enter(peers, room, 'bob');
    await client.expectRole('client');
    for (const peer of [host, client]) {
      await peer.waitConnected();
      await peer.expectPeers([
        { name: 'alice', host: true },
        { name: 'bob', host: false },
      ]);
    }

    await client.page.getByTestId('stage-ping').click();
    for (const peer of [host, client]) {
      await expect(peer.page.getByTestId('stage-message')).toHaveText(['bob pinged']);
    }
  });
});
