import { expect, test } from './fixtures';
import { MAIN_WASM } from './pages';

/** The wasm paths a page asked for, with the main wasm's (hashed or not) shown as `main`. */
const named = (wasm: Set<string>): string[] => [...wasm].map((p) => (MAIN_WASM.test(p) ? 'main' : p));

test.describe('lazy routes', () => {
  test('the lobby fetches its chunks; a chat room fetches the main wasm and no chunk', async ({ peers, room }) => {
    const ada = await peers.open('ada');
    // Every wasm file any page of this browser context asks for, including the tab opened below.
    const wasm = new Set<string>();
    ada.context.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.endsWith('.wasm')) wasm.add(path);
    });

    await ada.home.goto();
    await expect.poll(() => [...wasm].some((p) => p.includes('lobby_route')), { message: 'lobby chunk' }).toBe(true);
    expect(named(wasm)).toContain('main');

    await ada.home.submitJoin('ada', room);
    await ada.page.waitForURL((url) => url.pathname === `/rooms/${room}`);
    ada.name = 'ada';
    ada.room = room;
    await ada.expectRole('host');

    // A fresh document of the same user (a second tab), recorded from its first request.
    wasm.clear();
    const tab = await peers.openTab(ada, 'ada (second tab)');
    await tab.expectRole('client');
    await tab.waitConnected();
    expect(named(wasm), 'wasm a chat room page fetches').toEqual(['main']);
  });

  test('a lazy route reached by client-side navigation loads and hydrates', async ({ peers, room }) => {
    const [ada] = await peers.join(room, ['ada']);
    const wasm = new Set<string>();
    ada.page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.endsWith('.wasm')) wasm.add(path);
    });
    // The header's brand link: a router navigation (no document load) from the eager room to the lazy lobby.
    await ada.page.getByRole('link', { name: 'p2p-streams' }).click();
    await expect(ada.page).toHaveURL((url) => url.pathname === '/');
    await expect(ada.home.submit).toBeVisible();
    // The live-room list is loaded by the lobby's code in the browser (a server function call).
    await expect(ada.page.getByTestId('no-rooms').or(ada.page.getByTestId('live-rooms'))).toBeVisible();
    expect([...wasm].some((p) => p.includes('lobby_route')), 'lobby chunk fetched on navigation').toBe(true);
    expect(named(wasm), 'no second main wasm').not.toContain('main');
  });
});
