/**
 * Test fixtures: `room` (a unique room name per test) and `peers` (opens peers, each in its own browser context,
 * and fails the test on any console error, uncaught page error or dialog in any of them).
 *
 * Import `test` and `expect` from here, not from '@playwright/test'.
 */
import { test as base, expect, type Browser, type ConsoleMessage, type Page, type TestInfo } from '@playwright/test';
import { installChannelRecorder, installSocketRecorder } from './browser-hooks';
import { CONNECT_TIMEOUT_MS, RoomPage } from './pages';

export { expect };

/** Room names: letters, digits, `-`, `_`, 1-48 chars. */
const ROOM_NAME_MAX = 48;

/** `r-{slug of the test title}-{Date.now()}`, at most 48 chars. */
export function uniqueRoom(testInfo: TestInfo): string {
  const stamp = String(Date.now());
  const budget = ROOM_NAME_MAX - 'r-'.length - '-'.length - stamp.length;
  const slug = testInfo.title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, budget)
    .replace(/-+$/, '');
  return `r-${slug || 'test'}-${stamp}`;
}

/** Opens peers for one test and collects everything that counts as an error in any of them. */
export class Peers {
  /** Console errors, uncaught exceptions and dialogs, prefixed with the peer's label. */
  readonly errors: string[] = [];
  private readonly opened: RoomPage[] = [];
  private collecting = true;
  /** Console errors a test expects (see `expectConsoleError`); every other one fails the test. */
  private readonly expected: RegExp[] = [];

  constructor(
    private readonly browser: Browser,
    private readonly baseURL: string | undefined,
  ) {}

  /**
   * A new browser context (own cookies and sessionStorage) with one page; nothing joined yet. `baseURL` picks
   * another server than the suite's (a second signaling node).
   */
  async open(label: string, baseURL = this.baseURL): Promise<RoomPage> {
    const context = await this.browser.newContext({ baseURL });
    await context.addInitScript(installSocketRecorder);
    await context.addInitScript(installChannelRecorder);
    const page = await context.newPage();
    this.watch(page, label);
    const peer = new RoomPage(page, context, label);
    this.opened.push(peer);
    return peer;
  }

  /**
   * A second tab of `of`'s user: a new page in the same browser context (same identity cookie, its own
   * sessionStorage, so its own tab nonce), opened on `of`'s room.
   */
  async openTab(of: RoomPage, label: string): Promise<RoomPage> {
    const page = await of.context.newPage();
    this.watch(page, label);
    const tab = new RoomPage(page, of.context, label);
    tab.name = of.name;
    tab.room = of.room;
    this.opened.push(tab);
    await page.goto(tab.roomPath);
    return tab;
  }

  /**
   * Opens one peer per name and joins them to `room` in order, so the first is host. Waits for the first to be
   * assigned `host` before the next joins, for each later one to be `client` and connected, and finally for every
   * peer to be connected.
   */
  async join(room: string, names: string[], query?: string): Promise<RoomPage[]> {
    const joined: RoomPage[] = [];
    for (const [index, name] of names.entries()) {
      const peer = await this.open(name);
      await peer.join(name, room, query);
      if (index === 0) {
        await peer.expectRole('host');
      } else {
        await peer.expectRole('client');
        await peer.waitConnected(CONNECT_TIMEOUT_MS);
      }
      joined.push(peer);
    }
    for (const peer of joined) await peer.waitConnected();
    return joined;
  }

  /**
   * Lets console errors matching `pattern` through: for a test that makes the server refuse a request on
   * purpose (Chromium logs every non-2xx load as a console error).
   */
  expectConsoleError(pattern: RegExp): void {
    this.expected.push(pattern);
  }

  private watch(page: Page, label: string): void {
    const record = (what: string) => {
      if (this.collecting) this.errors.push(`[${label}] ${what}`);
    };
    page.on('console', (msg: ConsoleMessage) => {
      if (msg.type() !== 'error' || this.expected.some((pattern) => pattern.test(msg.text()))) return;
      const { url, lineNumber } = msg.location();
      record(`console.error: ${msg.text()}${url ? ` (${url}:${lineNumber})` : ''}`);
    });
    page.on('pageerror', (error) => record(`uncaught: ${error.stack ?? error.message}`));
    // No page opens dialogs; an alert here usually means injected HTML ran.
    page.on('dialog', (dialog) => {
      record(`unexpected ${dialog.type()} dialog: ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
  }

  /** Stops collecting (closing peers at teardown may legitimately log) and closes every context. */
  async dispose(): Promise<void> {
    this.collecting = false;
    await Promise.all(this.opened.map((peer) => peer.context.close().catch(() => undefined)));
  }
}

interface Fixtures {
  /** A room name no other test (or earlier run) uses. */
  room: string;
  /** Peer factory; after the test it asserts that no peer logged an error. */
  peers: Peers;
}

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern
  room: async ({}, use, testInfo) => {
    await use(uniqueRoom(testInfo));
  },
  peers: async ({ browser, baseURL }, use) => {
    const peers = new Peers(browser, baseURL);
    await use(peers);
    const errors = [...peers.errors];
    await peers.dispose();
    expect(errors, 'console errors, uncaught exceptions or dialogs in any peer').toEqual([]);
  },
});
