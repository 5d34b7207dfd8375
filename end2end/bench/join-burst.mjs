// Join-burst benchmark: 1 host + N clients (separate browser contexts) open a chat room at the same moment. Prints
// markdown: navigation -> connected (the `p2p:connected` performance mark, relative to the page's navigation start)
// p50/p95 over the clients; host -> all fan-out of one chat line (submit on the host to the line appearing on each
// client, in-page clocks); and the time from closing the host's page until every survivor is connected to the new
// host with the full peer list, and where that went (each survivor's last `p2p:negotiating`, `p2p:connecting` and
// `p2p:connected` marks after the close); then, per client, where the time to connected went (medians of each
// milestone: HTML received, the JS requested by the page and its request sent (the gap is the time the request
// waited inside the browser), JS and wasm fetched, driver started = `p2p:negotiating`, offer received =
// `p2p:connecting`, `p2p:connected`). Before each round, the floor: N fresh contexts load a static document at once
// (what this machine's Chromium needs for any page). Then the same burst arriving from the lobby: each client has
// the lobby open (the app's JS and wasm are in its browser cache, its renderer is running) and all submit the join
// form at once; navigation->connected counts from the form's submission (the room's navigation start: the POST /join
// and its redirect included). Figures only, no pass/fail. N=1 measures one client alone.
//   BENCH_BASE_URL=http://127.0.0.1:3000 node end2end/bench/join-burst.mjs [N ...]   (default: 8 16)
import { chromium } from 'playwright';
import { CHROMIUM_ARGS as args } from '../chromium-args.mjs';
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args });
const base = process.env.BENCH_BASE_URL ?? 'http://127.0.0.1:3000';
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]; };
const fmt = (x) => x.toFixed(0);

/** A signed-in browser context (POST /join sets the identity cookie) and a blank page. */
async function signedIn(name, room) {
  const ctx = await browser.newContext();
  const res = await ctx.request.post(base + '/join', { form: { name, room }, maxRedirects: 0 });
  if (res.status() >= 400) throw new Error(`sign-in failed: ${res.status()}`);
  return ctx.newPage();
}
/** A browser context showing the lobby, fully loaded (the app's files now in its cache), its join form filled. */
async function atLobby(name, room) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(base + '/', { waitUntil: 'networkidle' });
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId('join-room').fill(room);
  return page;
}
const connected = (page) => page.getByTestId('p2p-status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 60_000 });
const navToConnected = (page) => page.evaluate(() => performance.getEntriesByName('p2p:connected')[0]?.startTime ?? NaN);
/** Milestones of one page load, ms from its navigation start (NaN when missing). */
const PHASES = ['html', 'jsQueued', 'jsSent', 'js', 'wasm', 'negotiating', 'connecting', 'connected'];
const phases = (page) => page.evaluate(() => {
  const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
  const resource = (ext) => performance.getEntriesByType('resource').find((e) => e.name.endsWith(ext));
  const js = resource('.js');
  return [performance.getEntriesByType('navigation')[0]?.responseEnd ?? NaN, js?.startTime ?? NaN,
    js?.requestStart ?? NaN, js?.responseEnd ?? NaN, resource('.wasm')?.responseEnd ?? NaN,
    mark('p2p:negotiating'), mark('p2p:connecting'), mark('p2p:connected')];
});

async function round(n) {
  const room = `burst${n}x${Date.now()}`;
  const url = `${base}/rooms/${room}`;
  const host = await signedIn('host', room);
  await host.goto(url);
  await connected(host);
  const clients = await Promise.all(Array.from({ length: n }, (_, i) => signedIn(`c${i}`, room)));
  await Promise.all(clients.map((p) => p.goto(url)));
  await Promise.all(clients.map(connected));
  await host.getByTestId('peer').nth(n).waitFor({ timeout: 60_000 });
  const join = await Promise.all(clients.map(navToConnected));
  const milestones = await Promise.all(clients.map(phases));

  // Fan-out: the host's submit time and each client's arrival time, both read from in-page clocks.
  const text = `fanout-${Date.now()}`;
  await Promise.all(clients.map((p) => p.evaluate((t) => new Promise((ready) => {
    const seen = () => [...document.querySelectorAll('[data-testid=chat-line] .text')].some((e) => e.textContent === t);
    window.__fanout = new Promise((done) => {
      const obs = new MutationObserver(() => { if (seen()) { obs.disconnect(); done(performance.timeOrigin + performance.now()); } });
      obs.observe(document.body, { childList: true, subtree: true, characterData: true });
    });
    ready();
  }), text)));
  await host.evaluate(() => addEventListener('submit', () => { window.__sentAt = performance.timeOrigin + performance.now(); }, true));
  await host.getByTestId('chat-input').fill(text);
  await host.getByTestId('chat-send').click();
  const arrivals = await Promise.all(clients.map((p) => p.evaluate(() => window.__fanout)));
  const sentAt = await host.evaluate(() => window.__sentAt);
  const fanout = arrivals.map((t) => t - sentAt);

  // Migration: close the host; every survivor connected, n peers listed, exactly one host.
  const t0 = Date.now();
  await host.close();
  const ends = await Promise.all(clients.map((p) => p.waitForFunction((count) => {
    const q = (id) => document.querySelector(`[data-testid=${id}]`)?.textContent;
    return q('p2p-status') === 'connected' && ['host', 'client'].includes(q('role'))
      && document.querySelectorAll('[data-testid=peer]').length === count;
  }, n, { polling: 10, timeout: 60_000 }).then(() => Date.now())));
  const migration = Math.max(...ends) - t0;
  // Each survivor's last marks, in ms after the close (the same machine clock): negotiating again, the new host's
  // offer received, connected; NaN when a survivor did not pass through one (the new host gets no offer).
  const after = await Promise.all(clients.map((p) => p.evaluate((closedAt) => ['p2p:negotiating', 'p2p:connecting', 'p2p:connected']
    .map((name) => performance.timeOrigin + (performance.getEntriesByName(name).at(-1)?.startTime ?? NaN) - closedAt)
    .map((ms) => (ms >= 0 ? ms : NaN)), t0)));
  const roles = await Promise.all(clients.map((p) => p.getByTestId('role').textContent()));
  const hosts = roles.filter((r) => r === 'host').length;
  await Promise.all(clients.map((p) => p.context().close()));
  await host.context().close();
  return { join, fanout, migration, hosts, milestones, after };
}

/** The burst again, arriving from the lobby: n clients with the lobby open submit its join form at once. */
async function lobbyRound(n) {
  const room = `lobby${n}x${Date.now()}`;
  const host = await signedIn('host', room);
  await host.goto(`${base}/rooms/${room}`);
  await connected(host);
  const clients = await Promise.all(Array.from({ length: n }, (_, i) => atLobby(`c${i}`, room)));
  await Promise.all(clients.map((p) => p.getByTestId('join-submit').click()));
  await Promise.all(clients.map(connected));
  await host.getByTestId('peer').nth(n).waitFor({ timeout: 60_000 });
  const join = await Promise.all(clients.map(navToConnected));
  const milestones = await Promise.all(clients.map(phases));
  await Promise.all([host, ...clients].map((p) => p.context().close()));
  return { join, milestones };
}

/** The site's stylesheet as the pages link it (its name has a hash in a hashed build). */
const stylesheet = (await (await fetch(base + '/')).text()).match(/href="([^"]+\.css)"/)?.[1];
if (!stylesheet) throw new Error(`no stylesheet linked by ${base}/`);

/** The machine's floor: n fresh contexts load a static document of the same server (the stylesheet: no script,
 * no wasm, no socket) at the same moment; ms from navigation start to the end of its load event. */
async function floor(n) {
  const pages = await Promise.all(Array.from({ length: n }, async () => (await browser.newContext()).newPage()));
  await Promise.all(pages.map((p) => p.goto(base + stylesheet, { waitUntil: 'load' })));
  const loaded = await Promise.all(pages.map((p) => p.evaluate(() => performance.getEntriesByType('navigation')[0]?.loadEventEnd ?? NaN)));
  await Promise.all(pages.map((p) => p.context().close()));
  return loaded;
}

console.log(`### Browser (Chromium, one machine, ${process.env.BENCH_BUILD ?? 'release build'})\n`);
console.log('| clients | rounds | navigation->connected p50 ms | p95 ms | max ms | fan-out host->all p50 ms | max ms | host closed -> all on new host ms (median, max) | new hosts | floor: static document p50 / p95 ms |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
const breakdown = [];
const lobby = [];
const migrations = [];
for (const n of sizes.length ? sizes : [8, 16]) {
  const join = [], fanout = [], migration = [], hosts = [], milestones = [], statics = [], after = [];
  for (let r = 0; r < rounds; r++) {
    statics.push(...await floor(n));
    const res = await round(n);
    join.push(...res.join); fanout.push(...res.fanout); migration.push(res.migration); hosts.push(res.hosts);
    milestones.push(...res.milestones); after.push(...res.after);
  }
  const afterClose = (i) => after.map((m) => m[i]).filter((x) => !Number.isNaN(x));
  const medianMax = (xs) => (xs.length ? `${fmt(pct(xs, 0.5))} / ${fmt(Math.max(...xs))}` : '-');
  migrations.push(`| ${n} | ${[0, 1, 2].map((i) => medianMax(afterClose(i))).join(' | ')} |`);
  const fromLobby = [], lobbyMilestones = [];
  for (let r = 0; r < rounds; r++) {
    const res = await lobbyRound(n);
    fromLobby.push(...res.join); lobbyMilestones.push(...res.milestones);
  }
  const medians = (ms) => PHASES.map((_, i) => fmt(pct(ms.map((m) => m[i]).filter((x) => !Number.isNaN(x)), 0.5))).join(' | ');
  breakdown.push(`| ${n} | new browser, room link | ${medians(milestones)} |`, `| ${n} | from the lobby | ${medians(lobbyMilestones)} |`);
  lobby.push(`| ${n} | ${rounds} | ${fmt(pct(fromLobby, 0.5))} | ${fmt(pct(fromLobby, 0.95))} | ${fmt(Math.max(...fromLobby))} |`);
  console.log(`| ${n} | ${rounds} | ${fmt(pct(join, 0.5))} | ${fmt(pct(join, 0.95))} | ${fmt(Math.max(...join))} | ${fanout.length ? pct(fanout, 0.5).toFixed(1) : '-'} | ${Math.max(...fanout).toFixed(1)} | ${pct(migration, 0.5)}, ${Math.max(...migration)} | ${hosts.join(',')} | ${fmt(pct(statics, 0.5))} / ${fmt(pct(statics, 0.95))} |`);
}
console.log('\nArriving from the lobby (its page loaded, so the app\'s JS and wasm are in the browser\'s cache; all submit the join form at once):\n');
console.log('| clients | rounds | navigation->connected p50 ms | p95 ms | max ms |');
console.log('|---|---|---|---|---|');
lobby.forEach((line) => console.log(line));
console.log('\nMigration, where the time goes (ms from closing the host\'s page, median / max over the survivors):\n');
console.log('| clients | negotiating again | offer from the new host received | connected |');
console.log('|---|---|---|---|');
migrations.forEach((line) => console.log(line));
console.log('\nWhere the time goes (each client\'s milestones, median over clients, ms from its navigation start):\n');
console.log(`| clients | arrival | ${PHASES.map((p) => ({ html: 'HTML received', jsQueued: 'JS requested by the page', jsSent: 'JS request sent', js: 'JS fetched', wasm: 'wasm fetched', negotiating: 'driver started', connecting: 'offer received', connected: 'connected' })[p]).join(' | ')} |`);
console.log(`|---|---|${PHASES.map(() => '---').join('|')}|`);
breakdown.forEach((line) => console.log(line));
await browser.close();
