/**
 * Back/forward cache: a room page left for another page (the lobby) and brought back with Back is restored from
 * Chromium's back/forward cache. While away it has left the room cleanly (its peers see it go at once); restored, it
 * rejoins and catches up on every line it missed, exactly once and in order, and a line its link lost before it left
 * is still delivered from its outbox. Each such test proves the restore came from the cache (the same document,
 * `pageshow` with `persisted`) and fails otherwise, naming Chromium's reason. A room page that cannot be cached is
 * loaded anew on Back and must work as after a reload.
 *
 * Playwright starts Chromium with `--disable-back-forward-cache`; this file's worker starts it without.
 */
import type { CDPSession } from '@playwright/test';
import { CHROMIUM_ARGS } from '../chromium-args.mjs';
import { expect, test } from './fixtures';
import { CONNECT_TIMEOUT_MS, expectSameLines, type RoomPage } from './pages';

test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
  },
});

declare global {
  interface Window {
    /** `persisted` of every `pageshow` since the test left the room page (see leave()). */
    __pageshows?: boolean[];
    /** A live media track that keeps the page out of the back/forward cache. */
    __liveTrack?: MediaStream;
  }
}

/** A peer that left its room page, and what Chromium said when it did not restore it (CDP). */
interface Away {
  peer: RoomPage;
  notUsed: unknown[];
  cdp: CDPSession;
}

/**
 * Marks `peer`'s document, records its statuses and `pageshow` events, and goes to the lobby (a same-origin document
 * navigation). A restore turns the test's message dropping off before the page runs any code of its own.
 */
async function leave(peer: RoomPage): Promise<Away> {
  await peer.trackStatus();
  await peer.page.evaluate(() => {
    window.__pageshows = [];
    window.addEventListener('pageshow', (event) => {
      window.__pageshows?.push(event.persisted);
      if (event.persisted) window.__p2pDropSends = false;
    });
  });
  // notRestoredReasons masks circumstantial reasons (an eviction); the DevTools protocol names them.
  const cdp = await peer.context.newCDPSession(peer.page);
  const away: Away = { peer, notUsed: [], cdp };
  cdp.on('Page.backForwardCacheNotUsed', (event) => away.notUsed.push(event.notRestoredExplanations));
  await cdp.send('Page.enable');
  await peer.page.goto('/');
  await expect(peer.home.submit).toBeVisible();
  return away;
}

/** Back to the room page. A restore fires no `load`, so the navigation is awaited until it commits. */
async function goBack({ peer }: Away): Promise<void> {
  await peer.page.goBack({ waitUntil: 'commit' });
  await expect
    .poll(() => new URL(peer.page.url()).pathname, { message: `${peer.label}'s page after Back` })
    .toBe(peer.roomPath);
}

/** The room page's `pageshow` record (null: a new document) and its navigation's notRestoredReasons. */
async function shown(peer: RoomPage): Promise<{ pageshows: boolean[] | null; notRestored: unknown }> {
  return peer.page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming & {
      notRestoredReasons?: unknown;
    };
    const notRestored = JSON.parse(JSON.stringify(nav?.notRestoredReasons ?? null));
    return { pageshows: window.__pageshows ?? null, notRestored };
  });
}

/** Fails unless the room page came back from the back/forward cache: the same document, shown once, persisted. */
async function expectRestoredFromCache(away: Away): Promise<void> {
  const { peer } = away;
  await expect
    .poll(
      async () => {
        const { pageshows, notRestored } = await shown(peer);
        return pageshows ?? { newDocument: true, notRestored, chromium: away.notUsed };
      },
      { message: `${peer.label}'s room page should be restored from the back/forward cache` },
    )
    .toEqual([true]);
  await peer.expectNoReload();
  await away.cdp.detach();
}

/** Back to `away`'s page, which must come from the cache and rejoin as a client; then both peers list `roster`. */
async function restoreAsClient(
  away: Away,
  both: RoomPage[],
  roster: { name: string; host: boolean }[],
): Promise<void> {
  await goBack(away);
  await expectRestoredFromCache(away);
  await away.peer.waitConnected();
  await away.peer.expectRole('client');
  for (const p of both) await p.expectPeers(roster);
}

/** Away it was disconnected, never closed or failed; restored, it went from negotiating to connected. */
async function expectRejoinStatuses(peer: RoomPage): Promise<void> {
  const statuses = await peer.statusHistory();
  const message = `${peer.label}'s statuses: ${statuses.join(' > ')}`;
  expect(statuses.slice(0, 3), message).toEqual(['connected', 'disconnected', 'negotiating']);
  expect(statuses.filter((s) => s === 'closed' || s === 'failed'), message).toEqual([]);
  expect(statuses[statuses.length - 1], message).toBe('connected');
}

test('a client restored from the back/forward cache rejoins and catches up exactly once, in order', async ({
  peers,
  room,
}) => {
  const [alice, bob] = await peers.join(room, ['alice', 'bob']);
  await alice.send('before');
  await bob.expectLines([alice.lineOf('before')]);
  for (const p of [alice, bob]) await p.markNoReload();
  // The link loses bob's next line in flight: it is only in his outbox when he leaves.
  await bob.page.evaluate(() => {
    window.__p2pDropSends = true;
  });
  await bob.sendWithEnter('lost in flight');
  await expect(bob.chatInput).toHaveValue('');

  const away = await leave(bob);
  // bob left the room cleanly: his link closed, so alice's list drops him at once (no heartbeat timeout).
  await alice.expectPeers([{ name: 'alice', host: true }]);
  const missed = ['missed 1', 'missed 2', 'missed 3'];
  for (const text of missed) await alice.send(text);
  await alice.expectLines([alice.lineOf('before'), ...missed.map((t) => alice.lineOf(t))]);

  await restoreAsClient(away, [alice, bob], [
    { name: 'alice', host: true },
    { name: 'bob', host: false },
  ]);
  await expect(alice.peer('bob')).toHaveCount(1);

  const caughtUp = [alice.lineOf('before'), ...missed.map((t) => alice.lineOf(t)), bob.lineOf('lost in flight')];
  for (const p of [alice, bob]) await p.expectLines(caughtUp);
  await bob.send('bob after');
  await alice.expectLines([...caughtUp, bob.lineOf('bob after')]);
  await alice.send('alice after');
  const all = await expectSameLines([alice, bob], caughtUp.length + 2);
  expect(all).toEqual([...caughtUp, bob.lineOf('bob after'), alice.lineOf('alice after')]);
  await expectRejoinStatuses(bob);
  await alice.expectNoReload();
});

test('a host restored from the back/forward cache rejoins as a client of the new host and catches up', async ({
  peers,
  room,
}) => {
  const [alice, bob] = await peers.join(room, ['alice', 'bob']);
  await bob.send('before');
  await alice.expectLines([bob.lineOf('before')]);
  for (const p of [alice, bob]) await p.markNoReload();

  const away = await leave(alice);
  // The host left cleanly (socket and link closed): the server passes its role on at once.
  await bob.expectRole('host');
  await bob.waitConnected();
  await bob.expectPeers([{ name: 'bob', host: true }]);
  await bob.send('while alice was away');

  await restoreAsClient(away, [alice, bob], [
    { name: 'alice', host: false },
    { name: 'bob', host: true },
  ]);

  const caughtUp = [bob.lineOf('before'), bob.lineOf('while alice was away')];
  await alice.expectLines(caughtUp);
  await alice.send('alice back');
  await bob.expectLines([...caughtUp, alice.lineOf('alice back')]);
  await bob.send('bob answers');
  const all = await expectSameLines([alice, bob], caughtUp.length + 2);
  expect(all).toEqual([...caughtUp, alice.lineOf('alice back'), bob.lineOf('bob answers')]);
  await expectRejoinStatuses(alice);
  await bob.expectNoReload();
});

test('a page restored with an expired join token gets a new one before it rejoins', async ({ peers, room }) => {
  // Tokens of 3 s are always within the 5 s renewal margin: every new socket needs a renewed one.
  const [alice, bob] = await peers.join(room, ['alice', 'bob'], 'expires_in_secs=3');
  for (const p of [alice, bob]) await p.markNoReload();
  const away = await leave(bob);
  await alice.expectPeers([{ name: 'alice', host: true }]);
  await alice.send('missed');

  const renewal = bob.page.waitForRequest((req) => new URL(req.url()).pathname === '/api/p2p_join_token', {
    timeout: CONNECT_TIMEOUT_MS,
  });
  await goBack(away);
  await expectRestoredFromCache(away);
  await renewal;
  await bob.waitConnected();
  await bob.expectRole('client');
  await bob.expectLines([alice.lineOf('missed')]);
  await bob.send('bob after');
  await alice.expectLines([alice.lineOf('missed'), bob.lineOf('bob after')]);
  await expectRejoinStatuses(bob);
});

/**
 * Two ways a room page misses the cache: an `unload` listener makes Chromium decide before `pagehide` (`persisted`
 * false: the driver stops for good), a live media track makes it evict the page after a `pagehide` with `persisted`
 * (the driver was suspended, then the document discarded).
 */
const uncacheable = [
  { name: 'an unload listener', persisted: 'false', install: () => window.addEventListener('unload', () => undefined) },
  {
    name: 'a live media track',
    persisted: 'true',
    install: () => {
      window.__liveTrack = document.createElement('canvas').captureStream();
    },
  },
];

for (const { name, persisted, install } of uncacheable) {
  test(`a room page kept out of the cache by ${name} is loaded anew on Back and catches up`, async ({
    peers,
    room,
  }) => {
    const [alice, bob] = await peers.join(room, ['alice', 'bob']);
    await alice.send('before');
    await bob.expectLines([alice.lineOf('before')]);
    await bob.page.evaluate(install);
    // sessionStorage outlives the document: the next one reads what the old one's pagehide saw.
    await bob.page.evaluate(() =>
      window.addEventListener('pagehide', (event) => sessionStorage.setItem('test:pagehide', String(event.persisted))),
    );

    const away = await leave(bob);
    await alice.expectPeers([{ name: 'alice', host: true }]);
    await alice.send('missed');

    await goBack(away);
    // A new document; Chromium says why the old one was not restored.
    await expect.poll(async () => (await shown(bob)).pageshows, { message: 'a new document' }).toBeNull();
    expect((await shown(bob)).notRestored, 'notRestoredReasons of the new document').not.toBeNull();
    expect(await bob.page.evaluate(() => sessionStorage.getItem('test:pagehide')), 'pagehide persisted').toBe(persisted);
    await bob.waitConnected();
    await bob.expectRole('client');
    const caughtUp = [alice.lineOf('before'), alice.lineOf('missed')];
    for (const p of [alice, bob]) await p.expectLines(caughtUp);
    await bob.send('bob after');
    const all = await expectSameLines([alice, bob], caughtUp.length + 1);
    expect(all).toEqual([...caughtUp, bob.lineOf('bob after')]);
    await away.cdp.detach();
  });
}
