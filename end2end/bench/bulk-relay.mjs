// Bulk-message benchmark: a binary message of N MiB from a client to another client through the host (the
// chat page's probe panel, `?controls=1`: chunked, relayed, reassembled, checked) against a raw data channel
// between the same two browser contexts (one RTCPeerConnection pair signalled through this script, ordered and
// reliable, 64 KiB messages, bufferedAmount kept under 1 MiB like the toolkit's links), in the same run,
// alternating round by round. Relay time: click on Send to the receiver's row (data-valid="true"); raw time:
// first send to last byte received. Prints a markdown table with MB/s and the ratio relay/raw. Figures only;
// throws when a transfer does not complete (the smoke run's only assertion). Against a server that is up:
//   BENCH_BASE_URL=http://127.0.0.1:3000 BENCH_ROUNDS=3 node end2end/bench/bulk-relay.mjs [MiB]
import { chromium } from 'playwright';
import { CHROMIUM_ARGS as args } from '../chromium-args.mjs';

const mib = Number(process.argv[2] ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const base = process.env.BENCH_BASE_URL ?? 'http://127.0.0.1:3000';
const bytes = mib * 1024 * 1024;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args });

async function join(name, room) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(base + '/');
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId('join-room').fill(room);
  await page.getByTestId('join-submit').click();
  await page.waitForURL('**/rooms/' + room, { waitUntil: 'commit' });
  await page.goto(`${base}/rooms/${room}?controls=1&max_message=${bytes}`);
  await page.getByTestId('p2p-status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 30_000 });
  return page;
}

/** Seconds for `bytes` from `from` to `to` through the room's host. */
async function relayed(from, to, count) {
  await from.getByTestId('bulk-size').fill(String(bytes));
  const t0 = Date.now();
  await from.getByTestId('bulk-send').click();
  const row = to.getByTestId('bulk-message').nth(count);
  await row.waitFor({ timeout: 300_000 });
  const secs = (Date.now() - t0) / 1000;
  if ((await row.getAttribute('data-valid')) !== 'true') throw new Error('the relayed message arrived corrupt');
  return secs;
}

/** Seconds for `bytes` over a raw data channel from page `a` to page `b` (signalled through this script). */
async function raw(a, b) {
  const setup = (role) => {
    window.__pc = new RTCPeerConnection({ iceServers: [] });
    window.__cands = [];
    window.__pc.onicecandidate = (e) => e.candidate && window.__cands.push(e.candidate.toJSON());
    if (role === 'receiver') {
      window.__got = new Promise((resolve) => {
        window.__pc.ondatachannel = (e) => {
          let n = 0;
          e.channel.binaryType = 'arraybuffer';
          e.channel.onmessage = (m) => { n += m.data.byteLength; if (n >= window.__want) resolve(performance.now()); };
        };
      });
    }
  };
  await a.evaluate(setup, 'sender');
  await b.evaluate(setup, 'receiver');
  await b.evaluate((n) => { window.__want = n; }, bytes);
  const offer = await a.evaluate(async () => {
    window.__dc = window.__pc.createDataChannel('bench', { ordered: true });
    await window.__pc.setLocalDescription(await window.__pc.createOffer());
    return window.__pc.localDescription.toJSON();
  });
  const answer = await b.evaluate(async (o) => {
    await window.__pc.setRemoteDescription(o);
    await window.__pc.setLocalDescription(await window.__pc.createAnswer());
    return window.__pc.localDescription.toJSON();
  }, offer);
  await a.evaluate((ans) => window.__pc.setRemoteDescription(ans), answer);
  await a.waitForFunction(() => window.__pc.iceGatheringState === 'complete');
  await b.waitForFunction(() => window.__pc.iceGatheringState === 'complete');
  await b.evaluate(async (cs) => { for (const c of cs) await window.__pc.addIceCandidate(c); }, await a.evaluate(() => window.__cands));
  await a.evaluate(async (cs) => { for (const c of cs) await window.__pc.addIceCandidate(c); }, await b.evaluate(() => window.__cands));
  await a.waitForFunction(() => window.__dc.readyState === 'open', null, { timeout: 20_000 });
  const t0 = Date.now();
  await a.evaluate(async (total) => {
    const dc = window.__dc;
    dc.bufferedAmountLowThreshold = 256 * 1024;
    const chunk = new Uint8Array(64 * 1024);
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (dc.bufferedAmount > 1024 * 1024) await new Promise((r) => { dc.onbufferedamountlow = r; });
      dc.send(sent + chunk.length <= total ? chunk : chunk.subarray(0, total - sent));
    }
  }, bytes);
  await b.evaluate(() => window.__got);
  const secs = (Date.now() - t0) / 1000;
  await a.evaluate(() => window.__pc.close());
  await b.evaluate(() => window.__pc.close());
  return secs;
}

const room = 'bulk' + Date.now().toString(36);
const host = await join('host', room);
const sender = await join('sender', room);
const receiver = await join('receiver', room);
const times = { relay: [], raw: [] };
for (let round = 0; round < rounds; round++) {
  times.relay.push(await relayed(sender, receiver, round));
  times.raw.push(await raw(sender, receiver));
}
await browser.close();
void host;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rate = (secs) => (bytes / 1e6 / secs).toFixed(1);
const relay = median(times.relay);
const rawSecs = median(times.raw);
console.log(`\n### Bulk message, ${mib} MiB client -> host -> client vs a raw data channel (median of ${rounds})\n`);
console.log('| path | seconds | MB/s |');
console.log('|------|---------|------|');
console.log(`| raw data channel, same two contexts | ${rawSecs.toFixed(2)} | ${rate(rawSecs)} |`);
console.log(`| through the host (chunked, relayed, checked) | ${relay.toFixed(2)} | ${rate(relay)} |`);
console.log(`\nrelay / raw throughput: **${(rawSecs / relay).toFixed(2)}x** (goal >= 0.7x)`);
console.log(`rounds: relay ${times.relay.map((s) => s.toFixed(2)).join(', ')}; raw ${times.raw.map((s) => s.toFixed(2)).join(', ')}`);
