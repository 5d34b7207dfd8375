/**
 * The admin inspector at `/admin`: refused without the admin token or with a wrong one (page and server function,
 * both 403), and with it a live view of every session's host and peer states that follows joins and leaves without
 * a reload.
 *
 * The spawned server gets `P2P_ADMIN_TOKEN` from playwright.config.ts; against an external server set the same
 * variable here (E2E_ADMIN_TOKEN) or the tests that need the token are skipped.
 */
import { type BrowserContext, type Locator, type Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { LINK_LOSS_TIMEOUT_MS } from './pages';

/** The admin token the test server runs with. */
const ADMIN_TOKEN = process.env.E2E_ADMIN_TOKEN ?? (process.env.E2E_BASE_URL ? '' : 'e2e-admin-token-test-fixture');
/** Path of the inspector's server function. */
const ADMIN_FN = '/api/admin_sessions';
/** Name of the inspector's cookie. */
const ADMIN_COOKIE = 'p2p_admin';

/** A refused page or server-function call answers 403; the browser reports that load as a console error. */
const EXPECTED_CONSOLE = /Failed to load resource: the server responded with a status of 403/;

/** `/admin` in its own browser context, failing the test on any unexpected console or page error. */
class AdminPage {
  readonly sessions: Locator;
  readonly refused: Locator;
  readonly errors: string[] = [];

  private constructor(
    readonly page: Page,
    readonly context: BrowserContext,
  ) {
    this.sessions = page.getByTestId('admin-session');
    this.refused = page.getByTestId('admin-refused');
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !EXPECTED_CONSOLE.test(msg.text())) this.errors.push(msg.text());
    });
    page.on('pageerror', (error) => this.errors.push(`uncaught: ${error.message}`));
  }

  static async open(context: BrowserContext): Promise<AdminPage> {
    return new AdminPage(await context.newPage(), context);
  }

  /** Opens `/admin`, or `/admin?token=...`; returns the HTTP status of the document finally shown. */
  async goto(token?: string): Promise<number | undefined> {
    const path = token === undefined ? '/admin' : `/admin?token=${encodeURIComponent(token)}`;
    const response = await this.page.goto(path);
    return response?.status();
  }

  /** The row of session `session`. */
  session(session: string): Locator {
    return this.sessions.and(this.page.locator(`[data-session="${session}"]`));
  }

  /** `{name, state, host}` of every peer row of `session`, sorted by name. */
  async peers(session: string): Promise<{ name: string | null; state: string | null; host: string | null }[]> {
    const rows = await this.session(session)
      .getByTestId('admin-peer')
      .evaluateAll((els) =>
        els.map((el) => ({
          name: el.getAttribute('data-peer-name'),
          state: el.getAttribute('data-state'),
          host: el.getAttribute('data-host'),
        })),
      );
    return rows.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  }

  /** Waits until `session` shows `host`, `count` peers and exactly these peers, all connected. */
  async expectSession(session: string, host: string, names: string[], timeout?: number): Promise<void> {
    const row = this.session(session);
    await expect(row, `session ${session} in the inspector`).toHaveCount(1, { timeout });
    await expect(row).toHaveAttribute('data-host', host, { timeout });
    await expect(row).toHaveAttribute('data-peers', String(names.length), { timeout });
    const want = [...names].sort().map((name) => ({ name, state: 'connected', host: String(name === host) }));
    await expect.poll(() => this.peers(session), { message: `peers of ${session}`, timeout }).toEqual(want);
  }
}

test.describe('admin inspector', () => {
  test('refuses without the token and with a wrong one', async ({ browser, request, baseURL }) => {
    // HTTP level: the page and the server function both answer 403 and show nothing.
    const page = await request.get('/admin');
    expect(page.status()).toBe(403);
    expect(await page.text()).toContain('data-testid="admin-refused"');
    const forms: Record<string, string>[] = [{}, { token: 'wrong-token' }, { token: `${ADMIN_TOKEN}x` }];
    for (const form of forms) {
      const call = await request.post(ADMIN_FN, { form });
      expect(call.status(), `server function with ${JSON.stringify(form)}`).toBe(403);
      expect(await call.text()).not.toContain('session_id');
    }
    const forged = await request.post(ADMIN_FN, { form: {}, headers: { cookie: `${ADMIN_COOKIE}=forged` } });
    expect(forged.status()).toBe(403);

    // In a browser: refused without a token, refused with a wrong one (no cookie, no redirect).
    const context = await browser.newContext({ baseURL });
    try {
      const admin = await AdminPage.open(context);
      expect(await admin.goto()).toBe(403);
      await expect(admin.refused).toBeVisible();
      await expect(admin.sessions).toHaveCount(0);
      expect(await admin.goto('wrong-token')).toBe(403);
      await expect(admin.refused).toBeVisible();
      await expect(admin.sessions).toHaveCount(0);
      expect((await context.cookies()).map((c) => c.name)).not.toContain(ADMIN_COOKIE);
      expect(admin.errors, 'unexpected console errors on /admin').toEqual([]);
    } finally {
      await context.close();
    }
  });

  test('with the token shows the room live, through joins and leaves, without a reload', async ({
    browser,
    baseURL,
    peers,
    room,
  }) => {
    test.skip(!ADMIN_TOKEN, 'set E2E_ADMIN_TOKEN to the admin token of the external server');
    const session = `chat_room_${room}`;
    await peers.join(room, ['alice', 'bob']);

    const context = await browser.newContext({ baseURL });
    try {
      const admin = await AdminPage.open(context);
      expect(await admin.goto(ADMIN_TOKEN)).toBe(200);
      // The token leaves the address bar at once; the browser holds an HttpOnly cookie that is not the token.
      expect(new URL(admin.page.url()).search).toBe('');
      const cookie = (await context.cookies()).find((c) => c.name === ADMIN_COOKIE);
      expect(cookie?.httpOnly).toBe(true);
      expect(cookie?.sameSite).toBe('Strict');
      // A session cookie with an expiry (8 hours by default), not Secure over plain HTTP.
      const hoursLeft = ((cookie?.expires ?? -1) - Date.now() / 1000) / 3600;
      expect(hoursLeft, 'the cookie expires in about 8 hours').toBeGreaterThan(7.9);
      expect(hoursLeft).toBeLessThanOrEqual(8);
      expect(cookie?.secure).toBe(false);
      expect(cookie?.value).not.toContain(ADMIN_TOKEN);
      expect((await admin.page.request.post(ADMIN_FN, { form: {} })).status(), 'the cookie opens the API').toBe(200);

      await admin.expectSession(session, 'alice', ['alice', 'bob']);
      await admin.page.evaluate(() => {
        window.__noReload = true;
      });

      const carol = await peers.open('carol');
      await carol.join('carol', room);
      await carol.waitConnected();
      await admin.expectSession(session, 'alice', ['alice', 'bob', 'carol']);

      await carol.close();
      await admin.expectSession(session, 'alice', ['alice', 'bob'], LINK_LOSS_TIMEOUT_MS);

      const doc = await admin.page.evaluate(() => ({
        marker: window.__noReload === true,
        navigations: performance.getEntriesByType('navigation').length,
      }));
      expect(doc, 'the inspector updated in place').toEqual({ marker: true, navigations: 1 });
      expect(admin.errors, 'unexpected console errors on /admin').toEqual([]);
    } finally {
      await context.close();
    }
  });
});
