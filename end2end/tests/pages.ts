/**
 * Page objects for the p2p-streams UI. Every selector is a `data-testid` from the UI contract; nothing else in the
 * suite touches the DOM directly.
 *
 * Reads that feed `expect.poll` (status(), lines(), peerSnapshot(), ...) never wait for an element: they return
 * '' or [] when it is absent, so the poll (not the read) decides when to give up.
 */
import { expect, type BrowserContext, type Locator, type Page } from '@playwright/test';
import type { SocketSnapshot } from './browser-hooks';

/** Path of the signaling WebSocket. */
export const SIGNALING_PATH = '/p2p/ws';

/**
 * The main wasm's URL path: `/pkg/p2p-streams.wasm`, or `/pkg/p2p-streams.<content hash>.wasm` in a build made with
 * `LEPTOS_HASH_FILES=true`. Every other `.wasm` under /pkg is a lazy chunk (`cargo leptos build --split`).
 */
export const MAIN_WASM = /\/pkg\/p2p-streams(\.[\w-]+)?\.wasm$/;

/**
 * Holds `page`'s main wasm until the returned function is called: until then, no code of ours but the page's inline
 * script can run.
 */
export async function holdMainWasm(page: Page): Promise<() => void> {
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route(MAIN_WASM, async (route) => {
    await released;
    await route.continue().catch(() => undefined);
  });
  return release;
}

/** Data-channel link states (p2p-status and data-state). */
export type P2pStatus = 'negotiating' | 'connecting' | 'connected' | 'disconnected' | 'closed' | 'failed';
export type Role = 'host' | 'client';

/** One `data-testid="peer"` row, as attributes. */
export interface PeerRow {
  name: string | null;
  state: string | null;
  host: string | null;
}

/** What a peer list should show: `state` defaults to `connected`. */
export interface ExpectedPeer {
  name: string;
  host: boolean;
  state?: P2pStatus;
}

/** Performance mark start times (ms), in entry order, per mark name. */
export interface P2pMarks {
  negotiating: number[];
  connecting: number[];
  connected: number[];
}

/** Time allowed for a fresh page to load, hydrate, signal and open its data channel. */
export const CONNECT_TIMEOUT_MS = 30_000;
/**
 * Time allowed to notice a vanished peer (data channel close or heartbeat idle timeout, then any removal grace)
 * and, where applicable, to elect a new host and renegotiate. The contract gives no number; the default
 * heartbeat settings must fit in this.
 */
export const LINK_LOSS_TIMEOUT_MS = 60_000;

/** `"` and `\` escaped for a CSS attribute selector string. */
function cssString(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** `/`: the join form and the live-room list. */
export class HomePage {
  readonly nameInput: Locator;
  readonly roomInput: Locator;
  readonly submit: Locator;
  readonly liveRooms: Locator;

  constructor(readonly page: Page) {
    this.nameInput = page.getByTestId('join-name');
    this.roomInput = page.getByTestId('join-room');
    this.submit = page.getByTestId('join-submit');
    this.liveRooms = page.getByTestId('live-room');
  }

  /** Opens `/`, or `/?room={room}` (which pre-fills the room). */
  async goto(room?: string): Promise<void> {
    await this.page.goto(room === undefined ? '/' : `/?room=${encodeURIComponent(room)}`);
  }

  /** The live-room entry of `room` (zero or one element). */
  liveRoom(room: string): Locator {
    return this.liveRooms.and(this.page.locator(`[data-room="${cssString(room)}"]`));
  }

  /** Fills and submits the join form; the caller waits for the resulting navigation. */
  async submitJoin(name: string, room: string): Promise<void> {
    await this.nameInput.fill(name);
    await this.roomInput.fill(room);
    await this.submit.click();
  }
}

/** `/rooms/{room}` as seen by one peer (one browser context, one page). */
export class RoomPage {
  readonly home: HomePage;
  readonly p2pStatus: Locator;
  readonly roleBadge: Locator;
  readonly peerList: Locator;
  readonly peers: Locator;
  readonly chatLog: Locator;
  readonly chatLines: Locator;
  readonly chatInput: Locator;
  readonly chatSend: Locator;
  readonly reconnectingBanner: Locator;
  readonly signalingStatus: Locator;
  readonly errorBox: Locator;

  /** Name typed into the join form (set by join()). */
  name = '';
  /** Room joined (set by join()). */
  room = '';
  /** How many times this page object reloaded the page (migration asserts 0). */
  reloads = 0;

  constructor(
    readonly page: Page,
    readonly context: BrowserContext,
    /** Label for diagnostics (console-error messages). */
    readonly label: string,
  ) {
    this.home = new HomePage(page);
    this.p2pStatus = page.getByTestId('p2p-status');
    this.roleBadge = page.getByTestId('role');
    this.peerList = page.getByTestId('peer-list');
    this.peers = this.peerList.getByTestId('peer');
    this.chatLog = page.getByTestId('chat-log');
    this.chatLines = this.chatLog.getByTestId('chat-line');
    this.chatInput = page.getByTestId('chat-input');
    this.chatSend = page.getByTestId('chat-send');
    this.reconnectingBanner = page.getByTestId('reconnecting-banner');
    this.signalingStatus = page.getByTestId('signaling-status');
    this.errorBox = page.getByTestId('p2p-error');
  }

  // ---- navigation -------------------------------------------------------------------------------------------

  /** Path of this peer's room page. */
  get roomPath(): string {
    return `/rooms/${this.room}`;
  }

  /**
   * Joins through the form on `/` (which sets the identity cookie) and waits for `/rooms/{room}`. With `query`
   * (e.g. `keep_signaling=1`) it then opens `/rooms/{room}?{query}`; it leaves the first room page as soon as the
   * navigation commits, so that page has little chance to start the app (if it does, this is a reload).
   */
  async join(name: string, room: string, query?: string): Promise<void> {
    this.name = name;
    this.room = room;
    await this.home.goto();
    await this.home.submitJoin(name, room);
    await this.page.waitForURL((url) => url.pathname === this.roomPath, {
      waitUntil: query ? 'commit' : 'load',
    });
    if (query) await this.page.goto(`${this.roomPath}?${query}`);
    await expect(this.page, 'the join should land on the room page').toHaveURL(
      (url) => url.pathname === this.roomPath,
    );
  }

  /** Reloads the page (counted in `reloads`). */
  async reload(): Promise<void> {
    this.reloads += 1;
    await this.page.reload();
  }

  /** Closes this peer's whole browser context, as if the user closed the browser. */
  async close(): Promise<void> {
    await this.context.close();
  }

  // ---- non-waiting reads ------------------------------------------------------------------------------------

  /** Text of `p2p-status`, '' when absent. */
  async status(): Promise<string> {
    return ((await this.p2pStatus.allTextContents())[0] ?? '').trim();
  }

  /** Text of `role`, '' when absent or not assigned yet. */
  async role(): Promise<string> {
    return ((await this.roleBadge.allTextContents())[0] ?? '').trim();
  }

  /** Chat lines, in DOM order, exactly as rendered (textContent). */
  async lines(): Promise<string[]> {
    return this.chatLines.allTextContents();
  }

  /** Peer rows, sorted by name. */
  async peerSnapshot(): Promise<PeerRow[]> {
    const rows = await this.peers.evaluateAll((els) =>
      els.map((el) => ({
        name: el.getAttribute('data-peer-name'),
        state: el.getAttribute('data-state'),
        host: el.getAttribute('data-host'),
      })),
    );
    return rows.sort(byName);
  }

  /** `data-route` of every peer row by peer name (null: no attribute, as on the host's own row). */
  async peerRoutes(): Promise<Record<string, string | null>> {
    const rows = await this.peers.evaluateAll((els) =>
      els.map((el) => [el.getAttribute('data-peer-name') ?? '', el.getAttribute('data-route')] as const),
    );
    return Object.fromEntries(rows);
  }

  /** Waits until the peer rows' `data-route` attributes are exactly `expected` (by name; null: none). */
  async expectRoutes(expected: Record<string, string | null>, timeout?: number): Promise<void> {
    await expect
      .poll(() => this.peerRoutes(), { message: `${this.label}'s peer routes (data-route)`, timeout })
      .toEqual(expected);
  }

  /** Sorted peer names. */
  async peerNames(): Promise<(string | null)[]> {
    return (await this.peerSnapshot()).map((row) => row.name);
  }

  /** The `peer` row of `name` (use toHaveCount(1) to rule out duplicates). */
  peer(name: string): Locator {
    return this.peers.and(this.page.locator(`[data-peer-name="${cssString(name)}"]`));
  }

  /** Signaling sockets (`/p2p/ws`) this document created, oldest first. */
  async signalingSockets(): Promise<SocketSnapshot[]> {
    return this.page.evaluate((signalingPath) => {
      const recorded = window.__p2pSockets ?? [];
      return recorded
        .map((s) => ({
          url: s.url,
          path: new URL(s.url).pathname,
          readyState: s.readyState,
          opened: s.openedAt !== null,
          closeCode: s.closeCode,
        }))
        .filter((s) => s.path === signalingPath);
    }, SIGNALING_PATH);
  }

  /** readyState of the newest signaling socket, or -1 when none was created. */
  /** `"{created} created, {open} open"` for this page's signaling sockets. */
  async signalingSummary(): Promise<string> {
    const sockets = await this.signalingSockets();
    return `${sockets.length} created, ${sockets.filter((s) => s.readyState === 1).length} open`;
  }

  /** Closes every open signaling socket from the page (code 4000), as a test-made blip; returns how many. */
  async breakSignaling(): Promise<number> {
    return this.page.evaluate(() => {
      const open = (window.__p2pSockets ?? []).filter((s) => s.readyState === 1 && s.socket);
      open.forEach((s) => s.socket?.close(4000, 'test: signaling blip'));
      return open.length;
    });
  }

  async signalingReadyState(): Promise<number> {
    const sockets = await this.signalingSockets();
    return sockets.length === 0 ? -1 : sockets[sockets.length - 1].readyState;
  }

  /** Start times of the `p2p:*` performance marks. */
  async marks(): Promise<P2pMarks> {
    return this.page.evaluate(() => {
      const times = (name: string) => performance.getEntriesByName(name, 'mark').map((e) => e.startTime);
      return {
        negotiating: times('p2p:negotiating'),
        connecting: times('p2p:connecting'),
        connected: times('p2p:connected'),
      };
    });
  }

  // ---- actions ----------------------------------------------------------------------------------------------

  /**
   * Types `text` and clicks Send. Use it when no other peer is sending at the same moment: incoming lines move the
   * button, and a click can miss it (sendWithEnter() has no such race).
   */
  async send(text: string): Promise<void> {
    await this.chatInput.fill(text);
    await this.chatSend.click();
  }

  /** Types `text` and presses Enter in the input. */
  async sendWithEnter(text: string): Promise<void> {
    await this.chatInput.fill(text);
    await this.chatInput.press('Enter');
  }

  /** The chat line this peer's `text` must render as: `{name}: {text}`. */
  lineOf(text: string): string {
    return `${this.name}: ${text}`;
  }

  // ---- assertions -------------------------------------------------------------------------------------------

  /** Waits for the server-assigned role. */
  async expectRole(role: Role, timeout = CONNECT_TIMEOUT_MS): Promise<void> {
    await expect(this.roleBadge, `${this.label}'s role`).toHaveText(role, { timeout });
  }

  /** Waits for `p2p-status` = connected with a role assigned, no reconnecting banner and no fatal error. */
  async waitConnected(timeout = CONNECT_TIMEOUT_MS): Promise<void> {
    await expect(this.p2pStatus, `${this.label}'s p2p-status`).toHaveText('connected', { timeout });
    await expect(this.roleBadge, `${this.label}'s role`).toHaveText(/^(host|client)$/);
    await expect(this.reconnectingBanner, `${this.label}'s reconnecting banner`).toBeHidden();
    await expect(this.errorBox, `${this.label}'s p2p-error`).toBeHidden();
  }

  /** Waits until the peer list is exactly `expected` (names, states, host flags; order-insensitive). */
  async expectPeers(expected: ExpectedPeer[], timeout?: number): Promise<void> {
    const want: PeerRow[] = expected
      .map((p) => ({ name: p.name, state: p.state ?? 'connected', host: String(p.host) }))
      .sort(byName);
    await expect
      .poll(() => this.peerSnapshot(), { message: `${this.label}'s peer list`, timeout })
      .toEqual(want);
  }

  /** Waits until the chat log is exactly `expected`, in order. */
  async expectLines(expected: string[], timeout?: number): Promise<void> {
    await expect(this.chatLines, `${this.label}'s chat log`).toHaveText(expected, { timeout });
  }

  /**
   * Waits until the chat lines that satisfy `keep` are exactly `expected`, in order (for logs that may or may not
   * keep history from before a reload or a host change).
   */
  async expectLinesWhere(keep: (line: string) => boolean, expected: string[], timeout?: number): Promise<void> {
    await expect
      .poll(async () => (await this.lines()).filter(keep), { message: `${this.label}'s chat log`, timeout })
      .toEqual(expected);
  }

  // ---- reload detection and status history -----------------------------------------------------------------

  /** Marks the current document; expectNoReload() fails if the page was reloaded or navigated since. */
  async markNoReload(): Promise<void> {
    await this.page.evaluate(() => {
      window.__noReload = true;
    });
  }

  async expectNoReload(): Promise<void> {
    expect(this.reloads, `${this.label}: the test must not reload`).toBe(0);
    const doc = await this.page.evaluate(() => ({
      marker: window.__noReload === true,
      navigations: performance.getEntriesByType('navigation').length,
    }));
    expect(doc, `${this.label} must still be the same document`).toEqual({ marker: true, navigations: 1 });
  }

  /** Starts recording every distinct p2p-status text into window.__p2pStatusHistory (current one first). */
  async trackStatus(): Promise<void> {
    await this.page.evaluate(() => {
      const history: string[] = [];
      window.__p2pStatusHistory = history;
      const read = () => {
        const el = document.querySelector('[data-testid="p2p-status"]');
        const text = (el?.textContent ?? '').trim();
        if (history[history.length - 1] !== text) history.push(text);
      };
      read();
      new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
  }

  async statusHistory(): Promise<string[]> {
    return this.page.evaluate(() => window.__p2pStatusHistory ?? []);
  }
}

function byName(a: PeerRow, b: PeerRow): number {
  return (a.name ?? '').localeCompare(b.name ?? '');
}

/** Waits until every page shows the same chat lines (at least `count` of them) and returns them. */
export async function expectSameLines(pages: RoomPage[], count: number, timeout?: number): Promise<string[]> {
  let agreed: string[] = [];
  await expect
    .poll(
      async () => {
        const logs = await Promise.all(pages.map((p) => p.lines()));
        const first = logs[0];
        const same = logs.every((log) => JSON.stringify(log) === JSON.stringify(first));
        agreed = first;
        return same && first.length >= count ? 'same' : logs;
      },
      { message: `chat logs of ${pages.map((p) => p.label).join(', ')} should be identical`, timeout },
    )
    .toBe('same');
  return agreed;
}

/** Waits until the pages' roles, sorted, equal `roles` (e.g. exactly one host among survivors). */
export async function expectRoles(pages: RoomPage[], roles: Role[], timeout?: number): Promise<void> {
  await expect
    .poll(async () => (await Promise.all(pages.map((p) => p.role()))).sort(), {
      message: `roles of ${pages.map((p) => p.label).join(', ')}`,
      timeout,
    })
    .toEqual([...roles].sort());
}
