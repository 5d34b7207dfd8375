/**
 * Relay-only peers through the server's own STUN/TURN server (P2P_TURN_LISTEN), started by the test on a free
 * loopback UDP port: three pages with `?relay=1` connect, chat, show `data-route="relay"`, and `getStats()` shows
 * every link on a relay/relay pair made by that server. Chromium accepts a TURN server and relay candidates on
 * 127.0.0.1 (measured with coturn and with this server), so nothing here needs a non-loopback address.
 */
import { expect, test } from './fixtures';
import { Node } from './nodes';
import { freePort } from './ports';
import { relayOnlyRoom } from './relay-room';

const port = Number(process.env.E2E_PORT ?? 3100);

/** The admin token of the server this spec starts (a test fixture). */
const ADMIN_TOKEN = 'e2e-turn-admin-token-test-fixture';

test('relay-only peers connect and chat through the embedded TURN server', async ({ peers, room, browser }) => {
  const turnPort = await freePort();
  const node = await Node.start('embedded-turn', port + 4, {
    P2P_TURN_LISTEN: `127.0.0.1:${turnPort}`,
    P2P_TURN_EXTERNAL_IP: '127.0.0.1',
    // Loopback is denied by default. Relay-only peers talk to each other's relays, on the server's own address,
    // which it allows on live relay ports anyway; listed so any other loopback peer would be allowed too.
    P2P_TURN_ALLOW_PEERS: '127.0.0.0/8',
    P2P_ADMIN_TOKEN: ADMIN_TOKEN,
  });
  try {
    const all = await relayOnlyRoom(peers, node.baseURL, room, {
      turnUrl: (url) => url.startsWith(`turn:127.0.0.1:${turnPort}`),
      describe: `the embedded server (turn:127.0.0.1:${turnPort})`,
    });
    // The inspector lists the live allocations: every relay-only page holds at least one.
    const admin = await browser.newContext();
    const inspector = await admin.newPage();
    await inspector.goto(`${node.baseURL}admin?token=${ADMIN_TOKEN}`);
    const allocations = inspector.getByTestId('admin-allocation');
    for (const name of ['alice', 'bob', 'carol']) {
      await expect(allocations.and(inspector.locator(`[data-user="${name}"]`)).first()).toBeVisible();
    }
    await expect(inspector.getByTestId('admin-turn')).toHaveAttribute('data-allocations', /^[1-9]\d*$/);
    await admin.close();
    // Leave before the server stops, or the pages would log its disappearance.
    for (const p of all) await p.close();
  } finally {
    await node.stop();
  }
});
