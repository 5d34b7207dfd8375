/**
 * Through NAT, for real (nat-lab.ts, scripts/nat-lab.sh): two homes behind their own masquerading routers, which
 * let them reach the server's address 203.0.113.10 and nothing else, and the server in the public namespace. One
 * Chromium per home: alice in home A hosts, bob in home B joins.
 * - Without any TURN configuration the two never connect: signaling works (both get their role), but no candidate
 *   pair ever succeeds. This proves the topology blocks every direct path, so the second test means something.
 * - With the server's embedded STUN/TURN server (on 203.0.113.10, credentials minted with the join ticket) they
 *   connect with the default policy, chat both ways, and the link is relayed (`data-route="relay"`, and
 *   `getStats()` shows no pair without a relay ever succeeded).
 * Everything runs inside the namespaces; nothing leaves the machine.
 */
import { errors } from '@playwright/test';
import { expect, test } from './fixtures';
import { closeLab, Homes, LabServer, openLab, type NatLab } from './nat-lab';
import { CONNECT_TIMEOUT_MS } from './pages';
import {
  expectLinks,
  iceServers,
  installPeerConnectionRecorder,
  peerConnectionCount,
  relayedAtOneEnd,
  succeededPairs,
} from './rtc-stats';

/**
 * How long the client must stay unconnected without TURN: Chromium's own first attempt (its connectivity checks
 * on the host candidates) is long over by then, and a working path connects in well under a second here.
 */
const NO_PATH_WINDOW_MS = 12_000;
/**
 * Ports inside `pub` (private to the lab's namespace: no other process on the machine can hold them), moved by
 * 10 on a retry in case a timed-out first attempt left its server behind in a lab scripts/test.sh shares.
 */
const port = (base: number) => base + 10 * test.info().retry;
const PORT_WITHOUT_TURN = 8001;
const PORT_WITH_TURN = 8002;
const TURN_PORT = 3478;

test.describe('through NAT (network namespaces)', () => {
  let lab: NatLab | undefined;
  let skipReason = '';

  test.beforeAll(async () => {
    const opened = await openLab();
    if (typeof opened === 'string') skipReason = opened;
    else lab = opened;
  });

  test.afterAll(async () => {
    if (lab) await closeLab(lab);
  });

  test('without TURN, peers in two homes never connect', async ({ room }) => {
    test.skip(!lab, skipReason);
    const natLab = lab as NatLab;
    const server = await LabServer.start(natLab, 'no-turn', port(PORT_WITHOUT_TURN), {});
    const homes = await Homes.launch(natLab, server.baseURL);
    let found: string[] = [];
    try {
      const alice = await homes.a.open('alice@A');
      const bob = await homes.b.open('bob@B');
      for (const p of [alice, bob]) await p.page.addInitScript(installPeerConnectionRecorder);
      await alice.join('alice', room);
      await alice.expectRole('host');
      await bob.join('bob', room);
      // Signaling reaches the server from both homes...
      await bob.expectRole('client');
      for (const p of [alice, bob]) {
        await expect
          .poll(() => peerConnectionCount(p.page), { message: `${p.label} makes a peer connection` })
          .toBeGreaterThan(0);
      }
      // ...but the link never opens: the one bounded negative wait of the suite (a condition that must time out).
      const connected = await bob.p2pStatus
        .filter({ hasText: /^\s*connected\s*$/ })
        .waitFor({ timeout: NO_PATH_WINDOW_MS })
        .then(
          () => true,
          (e: unknown) => {
            if (e instanceof errors.TimeoutError) return false;
            throw e;
          },
        );
      expect(connected, `bob must not connect within ${NO_PATH_WINDOW_MS} ms without TURN`).toBe(false);
      expect((await alice.peerSnapshot()).find((row) => row.name === 'bob')?.state, "alice's row of bob").not.toBe(
        'connected',
      );
      // Not one candidate pair succeeded on either side, on any connection either page made.
      expect(await succeededPairs(alice.page), "alice's succeeded candidate pairs").toEqual([]);
      expect(await succeededPairs(bob.page), "bob's succeeded candidate pairs").toEqual([]);
      for (const p of [bob, alice]) await p.close();
    } finally {
      found = await homes.close();
      await server.stop();
    }
    expect(found, 'console errors, uncaught exceptions or dialogs in either home').toEqual([]);
  });

  test('with the embedded TURN server, peers in two homes connect through it and chat', async ({ room }) => {
    test.skip(!lab, skipReason);
    const natLab = lab as NatLab;
    const turnAt = `${natLab.serverIp}:${port(TURN_PORT)}`;
    const turnUrl = `turn:${turnAt}?transport=udp`;
    const server = await LabServer.start(natLab, 'embedded-turn', port(PORT_WITH_TURN), {
      P2P_TURN_LISTEN: turnAt,
      P2P_TURN_EXTERNAL_IP: natLab.serverIp,
      P2P_TURN_SECRET: `nat-lab-test-secret-${natLab.id}-not-for-production`,
      // The peers the relays talk to: the routers' WAN addresses and the relays themselves, all in the public
      // segment (a documentation range, not denied by default: listed so the test does not hang on that default).
      P2P_TURN_ALLOW_PEERS: natLab.publicNet,
    });
    const homes = await Homes.launch(natLab, server.baseURL);
    let found: string[] = [];
    try {
      const alice = await homes.a.open('alice@A');
      const bob = await homes.b.open('bob@B');
      for (const p of [alice, bob]) await p.page.addInitScript(installPeerConnectionRecorder);
      await alice.join('alice', room);
      await alice.expectRole('host');
      await bob.join('bob', room);
      await bob.expectRole('client');
      await bob.waitConnected(CONNECT_TIMEOUT_MS);
      await alice.waitConnected();

      const urls = (await iceServers(bob.page)).flatMap((s) => s.urls);
      expect(urls, "the embedded server's TURN URL is handed out automatically").toContain(turnUrl);

      await bob.sendWithEnter('hello from home B');
      for (const p of [alice, bob]) await p.expectLines([bob.lineOf('hello from home B')]);
      await alice.sendWithEnter('hello from home A');
      const lines = [bob.lineOf('hello from home B'), alice.lineOf('hello from home A')];
      for (const p of [alice, bob]) await p.expectLines(lines);

      for (const p of [alice, bob]) await p.expectRoutes({ alice: null, bob: 'relay' });
      const what = 'through a relay at one end at least, and no pair without a relay ever succeeded';
      await expectLinks(alice, 1, relayedAtOneEnd, what);
      await expectLinks(bob, 1, relayedAtOneEnd, what);
      for (const p of [bob, alice]) await p.close();
    } finally {
      found = await homes.close();
      await server.stop();
    }
    expect(found, 'console errors, uncaught exceptions or dialogs in either home').toEqual([]);
  });
});
