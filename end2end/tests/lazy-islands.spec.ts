/**
 * Islands: a page ships code only for its interactive parts. A chat room's island is in the main wasm; the
 * lobby's live-room list, the inspector and the whiteboard are lazy islands whose code is a wasm chunk of its own
 * (`cargo leptos build --split`), fetched only by a page that shows one. Links load pages: there is no router in
 * the browser.
 */
import { expect, test } from './fixtures';
import { MAIN_WASM } from './pages';
import type { BrowserContext, Page } from '@playwright/test';

/** The wasm paths a page asked for, with the main wasm's (hashed or not) shown as `main`. */
const named = (wasm: Set<string>): string[] => [...wasm].map((p) => (MAIN_WASM.test(p) ? 'main' : p));

/** Records the path of every wasm file asked for by `page` (or by every page of a context), from now on. */
function recordWasm(source: Page | BrowserContext): Set<string> {
  const wasm = new Set<string>();
  source.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith('.wasm')) wasm.add(path);
  });
  return wasm;
}

test.describe('lazy islands', () => {
  test('the lobby fetches its room-list chunk; a chat room fetches the main wasm and no chunk', async ({
    peers,
    room,
  }) => {
    const ada = await peers.open('ada');
    // Every wasm file any page of this browser context asks for, including the tab opened below.
    const wasm = recordWasm(ada.context);

    await ada.home.goto();
    await expect.poll(() => [...wasm].some((p) => p.includes('room_list')), { message: 'room-list chunk' }).toBe(true);
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

  test('a link from a room loads the lobby, whose live list hydrates from its chunk and updates in place', async ({
    peers,
    room,
  }) => {
    const [ada] = await peers.join(room, ['ada']);
    const wasm = recordWasm(ada.page);
    await ada.page.getByRole('link', { name: 'p2p-streams' }).click();
    await expect(ada.page).toHaveURL((url) => url.pathname === '/');
    await expect(ada.home.submit).toBeVisible();
    await expect.poll(() => [...wasm].some((p) => p.includes('room_list')), { message: 'room-list chunk' }).toBe(true);
    await ada.markNoReload();

    // A room opened after the lobby was rendered: only the hydrated island, polling the server, can show it.
    const later = `later-${room.slice(-24)}`;
    await peers.join(later, ['bea']);
    const listed = ada.page.locator(`[data-testid="live-room"][data-room="${later}"]`);
    await expect(listed).toHaveAttribute('data-peers', '1', { timeout: 15_000 });
    await ada.expectNoReload();
  });
});
