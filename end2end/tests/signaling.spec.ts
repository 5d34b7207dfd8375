import { expect, test } from './fixtures';
import type { RoomPage } from './pages';

const WS_OPEN = 1;
const WS_CLOSED = 3;

/** A chat round trip both ways: gives a socket that is about to close time to do so, without a fixed sleep. */
async function roundTrip(a: RoomPage, b: RoomPage, tag: string): Promise<void> {
  await a.send(`${tag} from ${a.name}`);
  await b.expectLinesWhere((l) => l.includes(tag), [a.lineOf(`${tag} from ${a.name}`)]);
  await b.send(`${tag} from ${b.name}`);
  await a.expectLinesWhere((l) => l.includes(tag), [a.lineOf(`${tag} from ${a.name}`), b.lineOf(`${tag} from ${b.name}`)]);
}

test.describe('signaling socket lifetime', () => {
  test('a connected client closes its signaling socket; the host keeps its own', async ({ peers, room }) => {
    const [alice, bob] = await peers.join(room, ['alice', 'bob']);

    await expect(bob.signalingStatus).toHaveText('closed');
    await expect.poll(() => bob.signalingReadyState(), { message: "bob's recorded /p2p/ws readyState" }).toBe(WS_CLOSED);
    const bobSockets = await bob.signalingSockets();
    expect(bobSockets.length, 'bob opened a signaling socket').toBeGreaterThan(0);
    expect(bobSockets.every((s) => s.opened), 'every signaling socket of bob had opened').toBe(true);
    expect(bobSockets.map((s) => s.readyState)).toEqual(bobSockets.map(() => WS_CLOSED));

    // The data channel works without signaling.
    await roundTrip(alice, bob, 'no-signaling');

    await expect(alice.signalingStatus).toHaveText('open');
    expect(await alice.signalingReadyState(), "alice's recorded /p2p/ws readyState").toBe(WS_OPEN);
    await expect(bob.signalingStatus).toHaveText('closed');
  });

  test('keep_signaling=1 keeps a connected client\'s signaling socket open', async ({ peers, room }) => {
    const alice = await peers.open('alice');
    await alice.join('alice', room);
    await alice.expectRole('host');
    const bob = await peers.open('bob');
    await bob.join('bob', room, 'keep_signaling=1');
    await bob.waitConnected();
    await bob.expectRole('client');

    await roundTrip(alice, bob, 'kept');

    await expect(bob.signalingStatus).toHaveText('open');
    const sockets = await bob.signalingSockets();
    expect(sockets.map((s) => s.readyState), "bob's /p2p/ws sockets in this document").toEqual([WS_OPEN]);
    await expect(alice.signalingStatus).toHaveText('open');
    expect(await alice.signalingReadyState()).toBe(WS_OPEN);
  });
});
