/**
 * Where a `<P2pFrame>`'s join ticket comes from. The server signs it while rendering and puts it into the frame
 * (`data-ticket`, beside the early script). A frame without one (rendered in the browser, as after client-side
 * navigation in an app without islands) asks the server's endpoint for one; a frame the server refused a ticket
 * (`data-ticket-error`) shows why and does not connect. Those two are made here from the server's room page: the
 * ticket taken out of the parsed page before the wasm runs, or the page rewritten as the server renders a refusal.
 */
import { expect, test, type Peers } from './fixtures';
import { holdMainWasm, type RoomPage } from './pages';
import type { Page } from '@playwright/test';

/**
 * Rewrites the next document `page` loads from `path` with `edit`; the server's answer is otherwise kept. (Playwright
 * does not route the target of a redirect, so the page must navigate to `path` itself; and Chromium treats a
 * document Playwright fulfilled as public, refusing its sockets to loopback: fine for a page that opens none.)
 */
async function rewriteDocument(page: Page, path: string, edit: (html: string) => string): Promise<void> {
  await page.route(
    (url) => url.pathname === path,
    async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, body: edit(await response.text()) });
    },
    { times: 1 },
  );
}

const TICKET_ATTR = / data-ticket="[^"]*"/;
/** The early script's body (it contains `<=`, so match lazily up to its end tag). */
const EARLY_SCRIPT = /(<script[^>]*>)\(\(\)=>\{try\{[\s\S]*?(<\/script>)/;

/** Opens `name`'s page, signed in (the identity cookie, as the join form sets it) but not yet in the room. */
async function signedIn(peers: Peers, name: string, room: string): Promise<RoomPage> {
  const peer = await peers.open(name);
  peer.name = name;
  peer.room = room;
  const signIn = await peer.context.request.post('/join', { form: { name, room }, maxRedirects: 0 });
  expect(signIn.status()).toBeLessThan(400);
  return peer;
}

test('a frame without a ticket from the server fetches one and connects', async ({
  peers,
  room,
}) => {
  const [alice] = await peers.join(room, ['alice']);
  const bob = await signedIn(peers, 'bob', room);
  // Hold the wasm, take the ticket out of the parsed page, then let the wasm run. (The page is not rewritten in
  // transit: Chromium would treat a document Playwright fulfilled as public and refuse its loopback sockets.)
  const release = await holdMainWasm(bob.page);
  await bob.page.goto(bob.roomPath, { waitUntil: 'domcontentloaded' });
  const rendered = await bob.page.evaluate(() => {
    const frame = document.querySelector('.p2p-frame');
    const ticket = frame?.getAttribute('data-ticket') ?? null;
    frame?.removeAttribute('data-ticket');
    return ticket;
  });
  expect(rendered, 'the server rendered a ticket').not.toBeNull();
  const fetched = bob.page.waitForResponse((res) => new URL(res.url()).pathname === '/api/p2p_join_token');
  release();
  const answer = await fetched;
  expect(answer.status()).toBe(200);

  await bob.waitConnected();
  await bob.expectRole('client');
  // The early script joined with the server's token. A fetched ticket signed in another second has another token:
  // the driver then replaces that socket with its own; with the same token it takes the socket over.
  const token = (json: unknown): string | undefined => (json as { token?: string }).token;
  const sameToken = token(JSON.parse(rendered ?? '{}')) === token(await answer.json());
  const sockets = await bob.signalingSockets();
  const expected = sameToken ? 1 : 2;
  expect(sockets.length, "bob's sockets: the early one, and the driver's own unless it took that one").toBe(expected);
  await alice.send('to a fetched ticket');
  await bob.expectLines([alice.lineOf('to a fetched ticket')]);
});

test('a frame the server refused a ticket shows the reason and does not connect', async ({ peers, room }) => {
  const bob = await signedIn(peers, 'bob', room);
  await rewriteDocument(bob.page, bob.roomPath, (html) => {
    expect(html, 'the server rendered the early script').toMatch(EARLY_SCRIPT);
    return html.replace(TICKET_ATTR, ' data-ticket-error="refused in this test"').replace(EARLY_SCRIPT, '$1$2');
  });
  await bob.page.goto(bob.roomPath);

  await expect(bob.errorBox).toContainText('could not get a join token: refused in this test');
  await expect(bob.p2pStatus).toHaveText('failed');
  expect(await bob.signalingSockets(), 'no signaling socket was opened').toEqual([]);
});
