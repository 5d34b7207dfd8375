/**
 * The shared whiteboard at `/whiteboard/{room}` (scaffolded by `cargo xtask new-room whiteboard`): a stroke drawn
 * with the mouse on one peer's canvas appears on every peer's canvas, relayed by the host, with its author and the
 * same points, already while it is being drawn; Clear empties every canvas; a peer that joins later gets the board
 * from the host. Peers sign in through the join form (which lands on the chat room), then open the whiteboard.
 */
import { expect, test, type Peers } from './fixtures';
import { type RoomPage } from './pages';

/** A point as fractions of the canvas's width and height. */
type At = [number, number];

/** Path of whiteboard `room`. */
function roomPath(room: string): string {
  return `/whiteboard/${encodeURIComponent(room)}`;
}

/**
 * Opens a peer named `name` (its own browser context), signs it in through the join form and opens the whiteboard.
 * It leaves the chat page the form redirects to as soon as that navigation commits.
 */
async function enter(peers: Peers, room: string, name: string): Promise<RoomPage> {
  const peer = await peers.open(name);
  peer.name = name;
  peer.room = room;
  await peer.home.goto();
  await peer.home.submitJoin(name, room);
  await peer.page.waitForURL((url) => url.pathname === peer.roomPath, { waitUntil: 'commit' });
  await peer.page.goto(roomPath(room));
  await expect(peer.page, `${name} should stay on the whiteboard`).toHaveURL((url) => url.pathname === roomPath(room));
  return peer;
}

/** Enters `names` in order (the first becomes host, the others clients) and waits until all are connected. */
async function enterAll(peers: Peers, room: string, names: string[]): Promise<RoomPage[]> {
  const entered: RoomPage[] = [];
  for (const [index, name] of names.entries()) {
    const peer = await enter(peers, room, name);
    await peer.expectRole(index === 0 ? 'host' : 'client');
    await peer.waitConnected();
    entered.push(peer);
  }
  return entered;
}

/** Where `at` is on `peer`'s canvas, in page pixels (scrolled into view first). */
async function onCanvas(peer: RoomPage, at: At): Promise<{ x: number; y: number }> {
  const canvas = peer.page.getByTestId('whiteboard-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  if (!box) throw new Error(`${peer.label}'s canvas is not visible`);
  return { x: box.x + at[0] * box.width, y: box.y + at[1] * box.height };
}

/** Drags the mouse over `peer`'s canvas through `path`: press at the first point, move through the rest, release. */
async function draw(peer: RoomPage, path: At[]): Promise<void> {
  const [first, ...rest] = path;
  const start = await onCanvas(peer, first);
  await peer.page.mouse.move(start.x, start.y);
  await peer.page.mouse.down();
  for (const at of rest) {
    const p = await onCanvas(peer, at);
    await peer.page.mouse.move(p.x, p.y, { steps: 5 });
  }
  await peer.page.mouse.up();
}

/** The `data-author` of every stroke on `peer`'s canvas, in paint order. */
async function authors(peer: RoomPage): Promise<(string | null)[]> {
  return peer.page.getByTestId('stroke').evaluateAll((els) => els.map((el) => el.getAttribute('data-author')));
}

/** The `points` of every stroke on `peer`'s canvas, in paint order. */
async function strokePoints(peer: RoomPage): Promise<(string | null)[]> {
  return peer.page.getByTestId('stroke').evaluateAll((els) => els.map((el) => el.getAttribute('points')));
}

/** Waits until every peer shows strokes by exactly `expected` (in order), the same points everywhere, and the count. */
async function expectStrokes(all: RoomPage[], expected: string[]): Promise<void> {
  for (const peer of all) {
    await expect.poll(() => authors(peer), { message: `${peer.label}'s stroke authors` }).toEqual(expected);
    await expect(peer.page.getByTestId('stroke-count'), `${peer.label}'s stroke count`).toHaveText(
      String(expected.length),
    );
  }
  const reference = await strokePoints(all[0]);
  for (const peer of all.slice(1)) {
    await expect.poll(() => strokePoints(peer), { message: `${peer.label}'s stroke points` }).toEqual(reference);
  }
}

/** The first point of a `points` attribute, in viewBox units (the viewBox is 1000 x 600). */
function firstPoint(points: string | null): [number, number] {
  const [x, y] = (points ?? '').split(' ')[0].split(',').map(Number);
  return [x, y];
}

test.describe('shared whiteboard', () => {
  test('every stroke appears on every canvas, and Clear empties them all', async ({ peers, room }) => {
    const [alice, bob, carol] = await enterAll(peers, room, ['alice', 'bob', 'carol']);
    const all = [alice, bob, carol];
    for (const peer of all) {
      await peer.expectPeers([
        { name: 'alice', host: true },
        { name: 'bob', host: false },
        { name: 'carol', host: false },
      ]);
      await expect(peer.page.getByTestId('stroke-count')).toHaveText('0');
      await expect(peer.page.getByTestId('whiteboard-canvas')).toHaveAttribute('viewBox', '0 0 1000 600');
    }

    // A client draws: its stroke goes through the host to everyone, where the mouse went.
    await draw(bob, [
      [0.2, 0.3],
      [0.35, 0.45],
      [0.5, 0.35],
      [0.6, 0.6],
    ]);
    await expectStrokes(all, ['bob']);
    const [x, y] = firstPoint((await strokePoints(carol))[0]);
    expect(Math.abs(x - 200), `first x ${x} should be near 200`).toBeLessThan(15);
    expect(Math.abs(y - 180), `first y ${y} should be near 180`).toBeLessThan(15);
    expect((await strokePoints(carol))[0]?.split(' ').length).toBeGreaterThan(3);

    // The host draws too; its stroke paints over bob's on every canvas.
    await draw(alice, [
      [0.7, 0.2],
      [0.8, 0.5],
      [0.9, 0.8],
    ]);
    await expectStrokes(all, ['bob', 'alice']);

    // Clear, from a client, empties every canvas.
    await carol.page.getByTestId('whiteboard-clear').click();
    await expectStrokes(all, []);
    for (const peer of all) await expect(peer.page.getByTestId('whiteboard-clear')).toBeDisabled();
  });

  test('a peer that joins later gets the board from the host', async ({ peers, room }) => {
    const [alice, bob] = await enterAll(peers, room, ['alice', 'bob']);
    const swatch = bob.page.getByTestId('whiteboard-color').nth(4);
    await swatch.click();
    await expect(swatch).toHaveAttribute('aria-pressed', 'true');
    const picked = await swatch.evaluate((el) => getComputedStyle(el).backgroundColor);
    await draw(bob, [
      [0.1, 0.1],
      [0.4, 0.4],
    ]);
    await draw(alice, [
      [0.5, 0.9],
      [0.9, 0.5],
    ]);
    await expectStrokes([alice, bob], ['bob', 'alice']);

    const carol = await enter(peers, room, 'carol');
    await carol.expectRole('client');
    await carol.waitConnected();
    await expectStrokes([alice, bob, carol], ['bob', 'alice']);
    const strokeColors = (peer: RoomPage) =>
      peer.page.getByTestId('stroke').evaluateAll((els) => els.map((el) => getComputedStyle(el).stroke));
    expect((await strokeColors(carol))[0], "bob's stroke keeps the color he picked").toBe(picked);

    await draw(carol, [
      [0.3, 0.7],
      [0.6, 0.2],
    ]);
    await expectStrokes([alice, bob, carol], ['bob', 'alice', 'carol']);
  });

  test('a stroke shows on the other canvases while it is still being drawn', async ({ peers, room }) => {
    const [alice, bob] = await enterAll(peers, room, ['alice', 'bob']);
    const start = await onCanvas(bob, [0.1, 0.5]);
    await bob.page.mouse.move(start.x, start.y);
    await bob.page.mouse.down();
    // Keep drawing (one small move per poll, polls are 100 ms and more apart) until alice sees the stroke.
    let x = 0.1;
    await expect
      .poll(
        async () => {
          x = Math.min(x + 0.02, 0.95);
          const p = await onCanvas(bob, [x, 0.5]);
          await bob.page.mouse.move(p.x, p.y);
          return authors(alice);
        },
        { message: "alice should see bob's stroke before he releases the button" },
      )
      .toEqual(['bob']);
    await bob.page.mouse.up();
    await expectStrokes([alice, bob], ['bob']);
  });
});
