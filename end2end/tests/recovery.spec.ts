import { expect, test } from './fixtures';
import { CONNECT_TIMEOUT_MS } from './pages';

// Fast heartbeats so an idle link is noticed in about a second and a half.
const FAST = 'heartbeat_ms=200&idle_timeout_ms=1500';

test('a link idle past the timeout is marked disconnected, then renegotiated', async ({ peers, room }) => {
  const [alice, bob] = await peers.join(room, ['alice', 'bob'], FAST);
  await bob.markNoReload();
  await bob.trackStatus();

  // Block bob's main thread for a few seconds (a hung tab): its heartbeats and pongs stop reaching the host.
  await bob.page.evaluate(() => {
    setTimeout(() => {
      const end = performance.now() + 5000;
      while (performance.now() < end) {
        // busy: nothing else runs on this page
      }
    }, 0);
  });
  await expect(alice.peer('bob')).toHaveAttribute('data-state', 'disconnected', { timeout: CONNECT_TIMEOUT_MS });
  await expect(alice.peers).toHaveCount(2);

  // Once bob runs again it notices the silent link, goes back through the server and the link is renegotiated.
  await expect(alice.peer('bob')).toHaveAttribute('data-state', 'connected', { timeout: CONNECT_TIMEOUT_MS });
  await bob.waitConnected();
  const history = await bob.statusHistory();
  expect(history, `bob's status history ${history}`).toContain('disconnected');
  expect(history[history.length - 1]).toBe('connected');
  await bob.expectNoReload();

  const fresh = (line: string) => line.includes('after recovery');
  await bob.send('bob after recovery');
  await alice.send('alice after recovery');
  const expected = [bob.lineOf('bob after recovery'), alice.lineOf('alice after recovery')];
  for (const p of [alice, bob]) await p.expectLinesWhere(fresh, expected);
});

test('a host whose signaling socket drops reconnects and keeps its role and its links', async ({ peers, room }) => {
  const [alice, bob] = await peers.join(room, ['alice', 'bob']);
  await alice.markNoReload();
  await bob.trackStatus();

  // Break the host's signaling socket from the page.
  expect(await alice.breakSignaling()).toBe(1);

  // A second socket opens on its own (one created, one open in all).
  await expect.poll(() => alice.signalingSummary(), { timeout: CONNECT_TIMEOUT_MS }).toBe('2 created, 1 open');
  await expect(alice.signalingStatus).toHaveText('open');
  await expect(alice.roleBadge).toHaveText('host');
  await expect(bob.roleBadge).toHaveText('client');
  // The P2P link never dropped: bob stayed connected the whole time.
  expect(await bob.statusHistory()).not.toContain('disconnected');
  await bob.send('bob after the blip');
  await alice.send('alice after the blip');
  const fresh = (line: string) => line.includes('after the blip');
  const expected = [bob.lineOf('bob after the blip'), alice.lineOf('alice after the blip')];
  for (const p of [alice, bob]) await p.expectLinesWhere(fresh, expected);
  await alice.expectNoReload();
});

test('a peer whose join token expired gets a new one from the server before reconnecting', async ({ peers, room }) => {
  // Tokens of 3 s are renewed before any reconnect (the browser renews within 5 s of expiry).
  const [alice, bob] = await peers.join(room, ['alice', 'bob'], 'expires_in_secs=3');
  await bob.trackStatus();
  const renewal = alice.page.waitForRequest((req) => req.url().includes('/api/p2p_join_token'));
  await alice.breakSignaling();
  await renewal;
  await expect.poll(() => alice.signalingSummary(), { timeout: CONNECT_TIMEOUT_MS }).toBe('2 created, 1 open');
  await expect(alice.roleBadge).toHaveText('host');
  await expect(alice.errorBox).toHaveCount(0);
  expect(await bob.statusHistory()).not.toContain('disconnected');
  await bob.send('after renewal');
  await alice.expectLinesWhere((l) => l.includes('after renewal'), [bob.lineOf('after renewal')]);
});

test('a peer whose token renewal the server refuses stops, showing the reason', async ({ peers, room }) => {
  // The refusal is an answer with the policy's status (403: signed in as someone else), which Chromium logs as a
  // console error.
  peers.expectConsoleError(/Failed to load resource: the server responded with a status of 403/);
  const [alice] = await peers.join(room, ['alice'], 'expires_in_secs=3');
  // The same browser signs in as someone else: its identity cookie no longer names alice, so the server's join
  // policy refuses alice a new token (the room page's own fetch, not server_fn's client).
  const signIn = await alice.context.request.post('/join', { form: { name: 'mallory', room }, maxRedirects: 0 });
  expect(signIn.status()).toBeLessThan(400);
  const renewal = alice.page.waitForResponse((res) => res.url().includes('/api/p2p_join_token'));
  await alice.breakSignaling();
  expect((await renewal).status()).toBe(403);
  await expect(alice.errorBox).toContainText('could not renew the join token');
  await expect(alice.errorBox).toContainText('peer id is not the signed-in user');
  await expect(alice.p2pStatus).toHaveText('failed');
});

test('a token renewal that gets no answer is given up and retried', async ({ peers, room }) => {
  const [alice, bob] = await peers.join(room, ['alice', 'bob'], 'expires_in_secs=3');
  await bob.trackStatus();
  // The first renewal request is black-holed (never answered, as by a server that accepted the connection and
  // hung); the page gives up on it after 10 s and tries again, and that one reaches the server.
  const isRenewal = (url: URL) => url.pathname === '/api/p2p_join_token';
  let seen = 0;
  await alice.page.route(isRenewal, async (route) => {
    seen += 1;
    if (seen > 1) await route.continue();
  });
  const abandoned = alice.page.waitForEvent('requestfailed', {
    predicate: (req) => isRenewal(new URL(req.url())),
    timeout: 30_000,
  });
  await alice.breakSignaling();
  await abandoned;
  await expect.poll(() => alice.signalingSummary(), { timeout: 30_000 }).toBe('2 created, 1 open');
  expect(seen).toBe(2);
  await expect(alice.roleBadge).toHaveText('host');
  await expect(alice.errorBox).toHaveCount(0);
  expect(await bob.statusHistory()).not.toContain('disconnected');
});
