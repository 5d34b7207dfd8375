/**
 * Early signaling: a server-rendered room page opens its signaling socket and joins from an inline script, before
 * its wasm arrives; the driver takes that socket over (with what the server sent meanwhile) instead of opening
 * another. A room rendered by client-side navigation has no early socket: the driver opens its own.
 */
import { expect, test } from './fixtures';
import { MAIN_WASM } from './pages';

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

test.describe('early signaling', () => {
  test('a client joins before its wasm arrives and its driver takes that socket over', async ({ peers, room }) => {
    const [alice] = await peers.join(room, ['alice']);
    const bob = await peers.open('bob');
    bob.name = 'bob';
    bob.room = room;
    await bob.home.goto();

    // Hold the room page's wasm: until it is released, no code of ours but the inline script can run.
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    await bob.page.route(MAIN_WASM, async (route) => {
      await released;
      await route.continue().catch(() => undefined);
    });
    await bob.home.submitJoin('bob', room);
    await bob.page.waitForURL((url) => url.pathname === bob.roomPath, { waitUntil: 'domcontentloaded' });

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

  test('a room shown by client-side navigation connects with its own socket', async ({ peers, room }) => {
    const [alice, bob] = await peers.join(room, ['alice', 'bob']);
    // Router navigations: to the lobby (the frame closes) and back (a new frame, rendered in the browser).
    await bob.page.getByRole('link', { name: 'p2p-streams' }).click();
    await expect(bob.home.submit).toBeVisible();
    await bob.page.goBack();
    await expect(bob.page).toHaveURL((url) => url.pathname === bob.roomPath);
    await bob.waitConnected();

    await expect(bob.page.locator('.p2p-frame > script'), 'the frame rendered in the browser').toHaveText('');
    expect(await bob.page.evaluate(earlySockets), 'no early socket is left on the page').toEqual([]);
    const sockets = await bob.signalingSockets();
    expect(sockets.length, "bob's sockets: the early one, then the driver's own").toBe(2);
    expect(sockets[0].readyState, 'the first frame closed its socket').toBe(3);

    await alice.send('after navigation');
    await bob.expectLinesWhere((l) => l.includes('after navigation'), [alice.lineOf('after navigation')]);
  });
});
