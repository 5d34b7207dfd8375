/**
 * Early signaling: a server-rendered room page opens its signaling socket and joins from an inline script, before
 * its wasm arrives; the driver takes that socket over (with what the server sent meanwhile) instead of opening
 * another. An early socket that is gone by then is not taken: the driver joins with a socket of its own.
 */
import { expect, test } from './fixtures';
import { holdMainWasm, type RoomPage } from './pages';
import type { Peers } from './fixtures';

/** What the page's early script holds for its session: socket state and the types of the frames it queued. */
function earlySockets(): { readyState: number; queued: string[] }[] {
  const early = (window as unknown as { __p2pEarly?: Record<string, { ws: WebSocket; queue: string[] }> }).__p2pEarly;
  return Object.values(early ?? {}).map((x) => ({
    readyState: x.ws.readyState,
    queued: x.queue.map((text) => {
      const frame = JSON.parse(text) as { type: string; signal?: { kind: string } };
      return frame.signal ? `${frame.type}:${frame.signal.kind}` : frame.type;
    }),
  }));
}

/**
 * Opens `name`'s lobby and submits the join form for `room` while holding the room page's wasm: until the returned
 * function is called, no code of ours but the page's inline script can run.
 */
async function joinWithWasmHeld(
  peers: Peers,
  name: string,
  room: string,
): Promise<{ peer: RoomPage; release: () => void }> {
  const peer = await peers.open(name);
  peer.name = name;
  peer.room = room;
  await peer.home.goto();
  const release = await holdMainWasm(peer.page);
  await peer.home.submitJoin(name, room);
  await peer.page.waitForURL((url) => url.pathname === peer.roomPath, { waitUntil: 'domcontentloaded' });
  return { peer, release };
}

test.describe('early signaling', () => {
  test('a client joins before its wasm arrives and its driver takes that socket over', async ({ peers, room }) => {
    const [alice] = await peers.join(room, ['alice']);
    const { peer: bob, release } = await joinWithWasmHeld(peers, 'bob', room);

    // The server welcomed bob and the host already sent its offer, all while bob's wasm is held.
    await expect
      .poll(() => bob.page.evaluate(earlySockets), { message: "bob's early socket and the frames it queued" })
      .toEqual([{ readyState: 1, queued: expect.arrayContaining(['welcome', 'signal:offer']) }]);
    await expect.poll(() => alice.peerNames(), { message: "alice's peer list" }).toContain('bob');
    await expect(bob.p2pStatus).not.toHaveText('connected');

    release();
    await bob.waitConnected();
    await bob.expectRole('client');
    const sockets = await bob.signalingSockets();
    expect(sockets.length, "bob's /p2p/ws sockets in this document: only the early one").toBe(1);
    expect(await bob.page.evaluate(earlySockets), 'the driver took the socket off the page').toEqual([]);

    await alice.send('hello early bob');
    await bob.expectLines([alice.lineOf('hello early bob')]);
  });

  test('an early socket closed before the wasm runs is not taken: the driver joins with its own', async ({
    peers,
    room,
  }) => {
    const [alice] = await peers.join(room, ['alice']);
    const { peer: bob, release } = await joinWithWasmHeld(peers, 'bob', room);
    await expect
      .poll(() => bob.page.evaluate(earlySockets), { message: "bob's early socket" })
      .toEqual([{ readyState: 1, queued: expect.arrayContaining(['welcome']) }]);
    await bob.page.evaluate(() => {
      const early = (window as unknown as { __p2pEarly: Record<string, { ws: WebSocket }> }).__p2pEarly;
      Object.values(early).forEach((x) => x.ws.close());
    });

    release();
    await bob.waitConnected();
    await bob.expectRole('client');
    expect(await bob.page.evaluate(earlySockets), 'no early socket is left on the page').toEqual([]);
    const sockets = await bob.signalingSockets();
    expect(sockets.length, "bob's sockets: the early one, then the driver's own").toBe(2);
    expect(sockets[0].readyState, 'the early socket stayed closed').toBe(3);

    await alice.send('after a socket of its own');
    await bob.expectLines([alice.lineOf('after a socket of its own')]);
  });
});
