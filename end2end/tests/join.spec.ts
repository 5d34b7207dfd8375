import { expect, test } from './fixtures';

test.describe('join page', () => {
  test('a room URL without the identity cookie redirects to the pre-filled join form', async ({ peers, room }) => {
    const visitor = await peers.open('visitor');
    await visitor.page.goto(`/rooms/${room}`);
    await expect(visitor.page).toHaveURL((url) => url.pathname === '/' && url.searchParams.get('room') === room);
    await expect(visitor.home.roomInput).toHaveValue(room);
    await expect(visitor.home.nameInput).toBeVisible();
    await expect(visitor.home.submit).toBeVisible();
  });

  test('signing in from another kind of room returns to that room', async ({ peers, room }) => {
    const visitor = await peers.open('visitor');
    await visitor.page.goto(`/whiteboard/${room}`);
    await expect(visitor.page).toHaveURL((url) => url.pathname === '/' && url.searchParams.get('kind') === 'whiteboard');
    await visitor.home.submitJoin('vera', room);
    await expect(visitor.page).toHaveURL((url) => url.pathname === `/whiteboard/${room}`);
    await expect(visitor.p2pStatus).toHaveText('connected');
    await expect(visitor.roleBadge).toHaveText('host');
  });

  test('a live room is listed with its peer count', async ({ peers, room }) => {
    await peers.join(room, ['alice', 'bob']);
    const visitor = await peers.open('visitor');
    await visitor.home.goto();
    // The list may be server-rendered only: reload until the host's count has reached the server.
    await expect(async () => {
      await visitor.page.reload();
      await expect(visitor.home.liveRoom(room)).toHaveAttribute('data-peers', '2', { timeout: 2_000 });
    }).toPass({ timeout: 20_000 });
    await expect(visitor.home.liveRoom(room)).toHaveCount(1);
  });
});
