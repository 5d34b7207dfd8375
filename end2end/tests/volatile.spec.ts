/**
 * Volatile messages (`send_volatile`: the second, unordered and unreliable data channel of every link), seen through
 * the whiteboard, whose cursors (`wb-cursor` with `data-peer`, `data-x`/`data-y` in viewBox units and `data-moves`,
 * the positions received from that peer) travel on it: they arrive at the other peers at a high rate, the host caps
 * each client's rate and counts the excess (`volatile-dropped`), and nothing volatile is replayed after a reconnect.
 * Knobs (`?controls=1`): `p2p-close`, `p2p-reconnect`, and `wb-flood`, which sends `flood=N` cursor positions at
 * once; `volatile_rate=N` sets the host's cap (N a second, burst N).
 */
import { expect, test, type Peers } from './fixtures';
import { type RoomPage } from './pages';

/** Opens `name`'s whiteboard in `room` with `query` (signing in through the join form first). */
async function enter(peers: Peers, room: string, name: string, query: string): Promise<RoomPage> {
  const peer = await peers.open(name);
  peer.name = name;
  peer.room = room;
  await peer.home.goto();
  await peer.home.submitJoin(name, room);
  await peer.page.waitForURL((url) => url.pathname === peer.roomPath, { waitUntil: 'commit' });
  await peer.page.goto(`/whiteboard/${encodeURIComponent(room)}?${query}`);
  return peer;
}

/** Enters `names` in order (the first is host) and waits until all of them are connected. */
async function enterAll(peers: Peers, room: string, names: string[], query: string): Promise<RoomPage[]> {
  const entered: RoomPage[] = [];
  for (const [index, name] of names.entries()) {
    const peer = await enter(peers, room, name, query);
    await peer.expectRole(index === 0 ? 'host' : 'client');
    await peer.waitConnected();
    entered.push(peer);
  }
  return entered;
}

/** `of`'s cursor on `peer`'s canvas. */
function cursor(peer: RoomPage, of: string) {
  return peer.page.locator(`[data-testid="wb-cursor"][data-peer="${of}"]`);
}

/** How many cursor positions `peer` received from `of` (0 while it shows no cursor of `of`). */
async function moves(peer: RoomPage, of: string): Promise<number> {
  const values = await cursor(peer, of).evaluateAll((els) => els.map((el) => el.getAttribute('data-moves')));
  return Number(values[0] ?? 0);
}

/** The host's count of volatile messages it dropped over the rate cap. */
async function dropped(host: RoomPage): Promise<number> {
  return Number((await host.page.getByTestId('volatile-dropped').textContent()) ?? 'NaN');
}

/** Page coordinates of `at` (fractions of width and height) on `peer`'s canvas. */
async function onCanvas(peer: RoomPage, at: [number, number]): Promise<{ x: number; y: number }> {
  const canvas = peer.page.getByTestId('whiteboard-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  if (!box) throw new Error(`${peer.label}'s canvas is not visible`);
  return { x: box.x + at[0] * box.width, y: box.y + at[1] * box.height };
}

/**
 * Moves `mover`'s mouse to `at` on its canvas (a pixel off and back on every poll, so each poll sends a fresh
 * position past the page's own 33 ms throttle) until every peer in `watchers` shows the cursor there.
 */
async function pointAt(mover: RoomPage, watchers: RoomPage[], at: [number, number]): Promise<void> {
  const target = await onCanvas(mover, at);
  let nudge = 0;
  for (const watcher of watchers) {
    await expect
      .poll(
        async () => {
          nudge = 1 - nudge;
          await mover.page.mouse.move(target.x + nudge, target.y);
          const box = await cursor(watcher, mover.name).evaluateAll((els) =>
            els.map((el) => [Number(el.getAttribute('data-x')), Number(el.getAttribute('data-y'))]),
          );
          const [x, y] = box[0] ?? [NaN, NaN];
          return Math.abs(x - at[0] * 1000) < 8 && Math.abs(y - at[1] * 600) < 8;
        },
        { message: `${watcher.label} should see ${mover.name}'s cursor at ${at}` },
      )
      .toBe(true);
  }
}

test.describe('volatile messages', () => {
  test('cursors reach every other peer, at a high rate', async ({ peers, room }) => {
    const query = 'controls=1&volatile_rate=5000&flood=200';
    const [alice, bob, carol] = await enterAll(peers, room, ['alice', 'bob', 'carol'], query);

    // A client's cursor reaches the host and the other client, where the mouse is; the host's reaches both clients.
    await pointAt(bob, [alice, carol], [0.3, 0.6]);
    await pointAt(alice, [bob, carol], [0.7, 0.2]);
    await expect(cursor(bob, 'bob'), 'no peer shows its own cursor').toHaveCount(0);

    // 200 positions at once: with the cap out of the way, (nearly) all of them reach both other peers.
    const before = { alice: await moves(alice, 'bob'), carol: await moves(carol, 'bob') };
    const started = Date.now();
    await bob.page.getByTestId('wb-flood').click();
    await expect.poll(async () => (await moves(carol, 'bob')) - before.carol, { message: 'carol counts arrivals' })
      .toBeGreaterThanOrEqual(180);
    const elapsed = (Date.now() - started) / 1000;
    await expect.poll(async () => (await moves(alice, 'bob')) - before.alice).toBeGreaterThanOrEqual(180);
    const arrived = (await moves(carol, 'bob')) - before.carol;
    expect(arrived, 'nothing arrives twice').toBeLessThanOrEqual(200);
    test.info().annotations.push({
      type: 'volatile rate',
      description: `${arrived} of 200 positions client -> host -> client within ${elapsed.toFixed(2)} s (${Math.round(arrived / elapsed)} messages/s or more)`,
    });
    expect(await dropped(alice), 'under the cap nothing is dropped').toBe(0);
  });

  test('the host caps each client and counts what it drops', async ({ peers, room }) => {
    // The default cap: 60 a second, a burst of 60.
    const [alice, bob, carol] = await enterAll(peers, room, ['alice', 'bob', 'carol'], 'controls=1&flood=300');
    await expect(alice.page.getByTestId('volatile-dropped')).toHaveText('0');
    const started = Date.now();
    await bob.page.getByTestId('wb-flood').click();
    // Every position the host took it counts as a move of bob's cursor; every other one as dropped.
    await expect
      .poll(async () => (await moves(alice, 'bob')) + (await dropped(alice)), { message: 'the host accounts for the flood' })
      .toBeGreaterThanOrEqual(290);
    const elapsed = (Date.now() - started) / 1000;
    const relayed = await moves(alice, 'bob');
    expect(relayed, 'a burst of 60, then 60 a second').toBeLessThanOrEqual(60 + 60 * elapsed + 2);
    expect(relayed).toBeGreaterThan(0);
    expect(await dropped(alice)).toBeGreaterThanOrEqual(300 - relayed - 10);
    expect(await dropped(alice)).toBeGreaterThan(100);
    await expect.poll(() => moves(carol, 'bob')).toBeGreaterThan(0);
    expect(await moves(carol, 'bob'), 'carol gets only what the host relayed').toBeLessThanOrEqual(relayed);
    await expect(bob.page.getByTestId('volatile-dropped'), 'a client drops nothing itself').toHaveText('0');
    // The cap is per client: the host's own cursor and carol's still go through.
    await pointAt(carol, [alice, bob], [0.4, 0.4]);
  });

  test('nothing volatile is replayed after a reconnect', async ({ peers, room }) => {
    const [alice, bob, carol] = await enterAll(peers, room, ['alice', 'bob', 'carol'], 'controls=1&flood=50');
    await pointAt(bob, [alice, carol], [0.2, 0.2]);

    // Carol leaves; bob keeps sending while she is away.
    await carol.page.getByTestId('p2p-close').click();
    await expect(carol.p2pStatus).toHaveText('closed');
    await alice.expectPeers([
      { name: 'alice', host: true },
      { name: 'bob', host: false },
    ]);
    await bob.page.getByTestId('wb-flood').click();
    await expect.poll(() => moves(alice, 'bob')).toBeGreaterThan(40);

    // Carol comes back. Alice then moves and draws (after carol's new link is up): carol sees both, but nothing
    // of bob, who sent all his positions before she was back.
    await carol.page.getByTestId('p2p-reconnect').click();
    await carol.waitConnected();
    await expect(cursor(carol, 'bob'), 'a rejoined room starts without cursors').toHaveCount(0);
    await pointAt(alice, [carol], [0.6, 0.6]);
    expect(await moves(carol, 'alice'), 'only the positions sent since carol is back').toBeLessThan(30);
    await expect(cursor(carol, 'bob'), "bob's old positions are not replayed").toHaveCount(0);

    // Bob leaves and moves over his canvas while away (refused: nothing is kept for later), then comes back.
    await bob.page.getByTestId('p2p-close').click();
    await expect(bob.p2pStatus).toHaveText('closed');
    await expect(cursor(alice, 'bob')).toHaveCount(0);
    const away = await onCanvas(bob, [0.9, 0.1]);
    for (let i = 0; i < 10; i += 1) await bob.page.mouse.move(away.x - i * 3, away.y + i * 3);
    await bob.page.getByTestId('p2p-reconnect').click();
    await bob.waitConnected();
    await pointAt(alice, [bob, carol], [0.5, 0.3]);
    await expect(cursor(alice, 'bob'), 'what bob did while away never arrives').toHaveCount(0);
    await expect(cursor(carol, 'bob')).toHaveCount(0);
    await pointAt(bob, [alice, carol], [0.1, 0.8]);
    expect(await moves(carol, 'bob'), "carol's count of bob's positions started over").toBeLessThan(30);
  });
});
