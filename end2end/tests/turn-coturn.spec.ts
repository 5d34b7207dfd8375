/**
 * Relay-only peers through Debian's coturn with credentials minted by our server: scripts/test.sh starts coturn
 * (scripts/coturn.sh: `use-auth-secret`, a random secret, a free loopback port) and exports its URL and secret;
 * the server gets them as P2P_TURN_URLS and P2P_TURN_SECRET (no embedded server). The credential each page was
 * handed is checked against the TURN REST API computed here, and coturn must accept it: three pages with
 * `?relay=1` connect, chat, show `data-route="relay"`, and every link is on a relay/relay pair made by coturn.
 */
import { createHmac } from 'node:crypto';
import { expect, test } from './fixtures';
import { Node } from './nodes';
import { relayOnlyRoom } from './relay-room';
import { iceServers } from './rtc-stats';

const port = Number(process.env.E2E_PORT ?? 3100);
const coturnUrl = process.env.P2P_TEST_COTURN_URL;
const coturnSecret = process.env.P2P_TEST_COTURN_SECRET;

test('relay-only peers connect and chat through coturn with credentials our server minted', async ({
  peers,
  room,
}) => {
  test.skip(
    !coturnUrl || !coturnSecret,
    'P2P_TEST_COTURN_URL / P2P_TEST_COTURN_SECRET not set: run scripts/test.sh, or `source scripts/coturn.sh && ' +
      'start_test_coturn` in the shell that runs Playwright',
  );
  const url = coturnUrl ?? '';
  const secret = coturnSecret ?? '';
  const node = await Node.start('coturn-minting', port + 5, { P2P_TURN_SECRET: secret, P2P_TURN_URLS: url });
  try {
    const all = await relayOnlyRoom(peers, node.baseURL, room, {
      turnUrl: (candidateUrl) => candidateUrl === url,
      describe: `coturn (${url})`,
    });
    // Each page's credential is the TURN REST API's for its own username: "{expiry}:{peer}", an expiry in the
    // future, and base64(HMAC-SHA1(secret, username)).
    const now = Math.floor(Date.now() / 1000);
    const seen = new Set<string>();
    for (const p of all) {
      const entry = (await iceServers(p.page)).find((s) => s.urls.includes(url));
      expect(entry, `${p.label} was handed coturn's URL with a credential`).toBeDefined();
      const username = entry?.username ?? '';
      const [expiry, peer] = [username.slice(0, username.indexOf(':')), username.slice(username.indexOf(':') + 1)];
      expect(Number(expiry), `${p.label}'s credential expires in the future`).toBeGreaterThan(now);
      expect(peer, `${p.label}'s username names a peer`).not.toBe('');
      expect(entry?.credential, `${p.label}'s credential`).toBe(
        createHmac('sha1', secret).update(username).digest('base64'),
      );
      seen.add(username);
    }
    expect(seen.size, 'every page has its own username').toBe(all.length);
    for (const p of all) await p.close();
  } finally {
    await node.stop();
  }
});
