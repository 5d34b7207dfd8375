// Media benchmark for the stage room (fake camera: --use-fake-device-for-media-stream). Figures only; it throws
// when a stream never plays. Against a server that is up:
//   BENCH_BASE_URL=http://127.0.0.1:3000 BENCH_ROUNDS=4 node end2end/bench/media.mjs [publish|late|migration|uplink]...
// - publish: host + 3 clients; the host publishes its camera, BENCH_ROUNDS times (unpublish in between): time from
//   the click to the first frame presented (requestVideoFrameCallback) on every receiver; p50/p95.
// - late: a client joining a room whose host publishes: from the join form's submit to the first frame.
// - migration: host + 3 clients, one client publishing; the host's tab closes: on every other survivor, the
//   time from the close to the first frame after the stall (the first gap of 100 ms or more between frames of
//   the publisher's videos, recorded in the page).
// - uplink: the host (a browser of its own) publishes to N = 1, 4, 8 clients; after 10 s of steady state, the host
//   page's own uplink figure (getStats sum, `stage-uplink`) and the CPU share of the host browser's processes
//   (utime+stime over 10 s from /proc, all of its processes).
// Prints markdown tables and one JSON line per figure (for docs/bench-results/).
import { chromium } from 'playwright';
import { readFileSync, readdirSync } from 'node:fs';
import { CHROMIUM_ARGS } from '../chromium-args.mjs';

const base = process.env.BENCH_BASE_URL ?? 'http://127.0.0.1:3000';
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const args = [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const scenarios = process.argv.slice(2).length ? process.argv.slice(2) : ['publish', 'late', 'migration', 'uplink'];
const stamp = Date.now();
const lines = [];

function pct(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function record(figure) {
  lines.push(JSON.stringify({ bench: 'media', ...figure }));
}

async function enter(browser, room, name) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/?kind=stage&room=${room}`);
  await page.getByTestId('join-name').fill(name);
  const submitted = Date.now();
  await page.getByTestId('join-submit').click();
  await page.getByTestId('p2p-status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 60_000 });
  return { page, submitted };
}

/** Starts waiting, in `page`, for the first frame of `publisher`'s video; resolves with its Date.now(). */
function firstFrame(page, publisher) {
  return page.evaluate(
    (publisher) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`no frame from ${publisher}`)), 90_000);
        const look = () => {
          const v = document.querySelector(`[data-testid="stage-video"][data-publisher="${publisher}"]`);
          if (!v) return void setTimeout(look, 5);
          v.requestVideoFrameCallback(() => {
            clearTimeout(deadline);
            resolve(Date.now());
          });
        };
        look();
      }),
    publisher,
  );
}

async function toggleCamera(page, pressed) {
  await page.getByTestId('stage-publish-camera').click();
  await page.locator(`[data-testid="stage-publish-camera"][aria-pressed="${pressed}"]`).waitFor();
}

async function publishRounds() {
  const browser = await chromium.launch({ executablePath, args });
  const room = `bench-media-${stamp}`;
  const host = (await enter(browser, room, 'host')).page;
  const clients = [];
  for (const name of ['c1', 'c2', 'c3']) clients.push((await enter(browser, room, name)).page);
  const samples = [];
  for (let round = 0; round < rounds; round += 1) {
    const waits = clients.map((c) => firstFrame(c, 'host'));
    const clicked = Date.now();
    await toggleCamera(host, 'true');
    for (const at of await Promise.all(waits)) samples.push(at - clicked);
    await toggleCamera(host, 'false');
    for (const c of clients) await c.locator('[data-testid="stage-video"]').waitFor({ state: 'detached' });
  }
  console.log(`| publish → first frame (3 receivers × ${rounds}) | p50 ${pct(samples, 50)} ms | p95 ${pct(samples, 95)} ms |`);
  record({ figure: 'publish_first_frame_ms', p50: pct(samples, 50), p95: pct(samples, 95), samples });
  await browser.close();
}

async function lateJoiner() {
  const browser = await chromium.launch({ executablePath, args });
  const samples = [];
  for (let round = 0; round < rounds; round += 1) {
    const room = `bench-late-${stamp}-${round}`;
    const host = (await enter(browser, room, 'host')).page;
    await toggleCamera(host, 'true');
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/?kind=stage&room=${room}`);
    await page.getByTestId('join-name').fill('late');
    const submitted = Date.now();
    await page.getByTestId('join-submit').click();
    await page.waitForURL(`**/stage/${room}`, { waitUntil: 'commit' });
    samples.push((await firstFrame(page, 'host')) - submitted);
    await page.context().close();
    await host.context().close();
  }
  console.log(`| late joiner: submit → first frame (${rounds}) | p50 ${pct(samples, 50)} ms | p95 ${pct(samples, 95)} ms |`);
  record({ figure: 'late_joiner_first_frame_ms', p50: pct(samples, 50), p95: pct(samples, 95), samples });
  await browser.close();
}

async function migration() {
  const samples = [];
  for (let round = 0; round < rounds; round += 1) {
    const hostBrowser = await chromium.launch({ executablePath, args });
    const browser = await chromium.launch({ executablePath, args });
    const room = `bench-migr-${stamp}-${round}`;
    const { page: hostPage } = await enter(hostBrowser, room, 'host');
    const [pub, a, b] = [];
    const peers = [];
    for (const name of ['pub', 'a', 'b']) peers.push((await enter(browser, room, name)).page);
    await toggleCamera(peers[0], 'true');
    for (const p of peers.slice(1)) await firstFrame(p, 'pub');
    // In each survivor, every frame presented by any of the publisher's videos (old or new element), stamped.
    for (const p of peers.slice(1)) await p.evaluate(recordFrames, 'pub');
    // The host's tab closes (its pagehide tells the links at once, as when a person closes it).
    const closed = Date.now();
    await hostPage.close();
    // The stall: the first gap of 100 ms or more between frames after the close (counting from the close)
    // ends when the stream plays again through the new host; no frame at all in 20 s fails the run.
    for (const p of peers.slice(1)) {
      await p.waitForFunction((t) => window.__frames.some((f) => f > t + 1_000), closed, { timeout: 20_000 });
      const frames = await p.evaluate((t) => window.__frames.filter((f) => f > t), closed);
      let previous = closed;
      const resumed = frames.find((f) => {
        const gap = f - previous >= 100;
        previous = f;
        return gap;
      });
      samples.push((resumed ?? frames[0]) - closed);
    }
    await hostBrowser.close();
    await browser.close();
    void [pub, a, b];
  }
  console.log(`| host leaves → publisher's first frame via new host (2 receivers × ${rounds}) | p50 ${pct(samples, 50)} ms | p95 ${pct(samples, 95)} ms |`);
  record({ figure: 'migration_first_frame_ms', p50: pct(samples, 50), p95: pct(samples, 95), samples });
}

/** In a page: records in `window.__frames` the Date.now() of every frame any video of `publisher` presents. */
function recordFrames(publisher) {
  window.__frames = [];
  const watched = new WeakSet();
  const watch = () => {
    for (const v of document.querySelectorAll(`[data-testid="stage-video"][data-publisher="${publisher}"]`)) {
      if (watched.has(v)) continue;
      watched.add(v);
      const tick = () => {
        window.__frames.push(Date.now());
        if (v.isConnected) v.requestVideoFrameCallback(tick);
      };
      v.requestVideoFrameCallback(tick);
    }
  };
  watch();
  new MutationObserver(watch).observe(document.body, { childList: true, subtree: true });
}

/** CPU seconds (utime + stime) of `pid` and its descendants. */
function cpuSeconds(root) {
  const children = new Map();
  const times = new Map();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(fields[1]);
      times.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / 100);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    total += times.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

async function uplink() {
  for (const n of [1, 4, 8]) {
    const server = await chromium.launchServer({ executablePath, args });
    const hostBrowser = await chromium.connect(server.wsEndpoint());
    const browser = await chromium.launch({ executablePath, args });
    const room = `bench-up-${stamp}-${n}`;
    const host = (await enter(hostBrowser, room, 'host')).page;
    const clients = [];
    for (let i = 0; i < n; i += 1) clients.push((await enter(browser, room, `c${i}`)).page);
    await toggleCamera(host, 'true');
    for (const c of clients) await firstFrame(c, 'host');
    await host.waitForTimeout(10_000); // steady state: the encoder's bitrate ramps up
    const cpu0 = cpuSeconds(server.process().pid);
    const t0 = Date.now();
    await host.waitForTimeout(10_000);
    const cpu = (cpuSeconds(server.process().pid) - cpu0) / ((Date.now() - t0) / 1000);
    const kbps = await host.getByTestId('stage-uplink').textContent();
    console.log(`| N = ${n} | host uplink ${kbps} | host browser CPU ${(cpu * 100).toFixed(0)} % of one core |`);
    record({ figure: 'host_uplink', clients: n, uplink: kbps, cpu_core_share: Number(cpu.toFixed(3)) });
    await browser.close();
    await hostBrowser.close();
    await server.close();
  }
}

const run = { publish: publishRounds, late: lateJoiner, migration, uplink };
for (const name of scenarios) await run[name]();
console.log(lines.join('\n'));
