// Room page through the relay: navigation -> `connected` for a relay-only client (`/rooms/ROOM?relay=1`, the
// page's connections use TURN relay candidates only) against a direct one, same server, same run, alternating
// (the order flips every round). Each measurement is a fresh room: a host page, then one client page in a new
// browser context (signed in with `POST /join`), both in the same mode (relay-only: both pages relay-only, so the
// link is relay to relay through the server's embedded TURN server, as two relay-only browsers would be);
// navigation -> connected is the client's `p2p:connected` performance mark (ms from its navigation start), and
// "offer -> connected" the part after `p2p:connecting` (the host's offer received: signaling and ICE). A relayed
// round must show `data-route="relay"` on the client's row in the host's page when the build reports routes.
// Needs a server with the embedded TURN server on (P2P_TURN_LISTEN) and the built site. Prints markdown; throws
// when a page does not connect (the smoke run's only assertion).
//   BENCH_BASE_URL=http://127.0.0.1:3320 BENCH_ROUNDS=5 node end2end/bench/turn-room.mjs
import { chromium } from 'playwright';
import { CHROMIUM_ARGS as args } from '../chromium-args.mjs';

const base = process.env.BENCH_BASE_URL ?? 'http://127.0.0.1:3000';
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args });

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** A signed-in browser context (POST /join sets the identity cookie) and a blank page. */
async function signedIn(name, room) {
  const ctx = await browser.newContext();
  const res = await ctx.request.post(`${base}/join`, { form: { name, room }, maxRedirects: 0 });
  if (res.status() >= 400) throw new Error(`sign-in failed: ${res.status()}`);
  return ctx.newPage();
}
const connected = (page) => page.getByTestId('p2p-status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 60_000 });
const marks = (page) => page.evaluate(() => {
  const mark = (name) => performance.getEntriesByName(name).at(-1)?.startTime ?? NaN;
  return { connecting: mark('p2p:connecting'), connected: mark('p2p:connected') };
});

/** One measurement: a fresh room in `mode` ('direct' | 'relay'); the client's marks. */
async function measure(mode, index) {
  const room = `turn-${mode}-${index}-${Date.now()}`;
  const query = mode === 'relay' ? '?relay=1' : '';
  const host = await signedIn('host', room);
  await host.goto(`${base}/rooms/${room}${query}`);
  await connected(host);
  const client = await signedIn('client', room);
  await client.goto(`${base}/rooms/${room}${query}`);
  await connected(client);
  const m = await marks(client);
  // The host's row for the client shows the link's route once measured (when the build reports routes).
  let route = null;
  try {
    const row = host.locator('[data-testid=peer][data-route]');
    await row.first().waitFor({ timeout: 5_000 });
    route = await row.first().getAttribute('data-route');
  } catch {
    route = null; // a build without routes
  }
  if (mode === 'relay' && route !== null && route !== 'relay') throw new Error(`relay-only round on a ${route} route`);
  await client.context().close();
  await host.context().close();
  return { ...m, route };
}

const results = { direct: [], relay: [] };
try {
  // One unmeasured round first: Chromium's first renderer and the server's first pages are not steady state.
  await measure('direct', 0);
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? ['direct', 'relay'] : ['relay', 'direct']) {
      const res = await measure(mode, r + 1);
      results[mode].push(res);
      console.error(`[turn-room] round ${r + 1} ${mode}: navigation->connected ${res.connected.toFixed(0)} ms`
        + ` (offer->connected ${(res.connected - res.connecting).toFixed(0)} ms, route ${res.route ?? '-'})`);
    }
  }
} finally {
  await browser.close();
}

console.log('### Room page: relay-only vs direct (Chromium, one host + one client, fresh room per round)\n');
console.log('| mode | route | rounds | navigation->connected ms (median) | per round | offer received -> connected ms (median) |');
console.log('|---|---|---|---|---|---|');
const summary = {};
for (const mode of ['direct', 'relay']) {
  const rs = results[mode];
  const nav = median(rs.map((r) => r.connected));
  const ice = median(rs.map((r) => r.connected - r.connecting));
  summary[mode] = { nav, ice };
  const routes = [...new Set(rs.map((r) => r.route ?? '-'))].join(', ');
  console.log(`| ${mode === 'relay' ? 'relay-only (`?relay=1`)' : 'direct'} | ${routes} | ${rs.length} | ${nav.toFixed(0)} | `
    + `${rs.map((r) => r.connected.toFixed(0)).join(', ')} | ${ice.toFixed(0)} |`);
}
console.log(`\nRelay-only / direct: navigation->connected ${(summary.relay.nav / summary.direct.nav).toFixed(2)}x `
  + `(+${(summary.relay.nav - summary.direct.nav).toFixed(0)} ms), offer->connected `
  + `${(summary.relay.ice / summary.direct.ice).toFixed(2)}x.`);
