// TURN transfer benchmark: a data-channel bulk transfer between two RTCPeerConnections in one page (signalled
// in-page, no server involved but the TURN servers), in three modes in the same run, alternating round by round:
//   direct    iceServers [] (host candidates, loopback)
//   embedded  iceTransportPolicy "relay" through our embedded TURN server (TURN_EMBEDDED_URL)
//   coturn    iceTransportPolicy "relay" through coturn (TURN_COTURN_URL)
// Both relay modes use TURN REST API credentials minted here from TURN_SECRET (username "{expiry}:{peer}",
// credential base64(HMAC-SHA1(secret, username))), and every relayed round checks with getStats() that the
// selected pair is relay/relay (both connections allocate on the same server, so the data crosses it twice:
// A -> A's relay -> B's relay -> B). Per mode: connect time (createOffer -> data channel open on the offerer) and
// throughput of N MB on an ordered, reliable channel (16 KiB messages, bufferedAmount kept under 4 MiB), first
// send to last byte received; with TURN_EMBEDDED_PID / TURN_COTURN_PID, the server's CPU per relayed MB
// (utime+stime from /proc/PID/stat around the transfer). Prints markdown; throws when a channel does not open,
// a transfer does not complete or a relayed round is not on a relay pair (the smoke run's only assertions).
//   TURN_SECRET=... TURN_EMBEDDED_URL=turn:127.0.0.1:3321?transport=udp TURN_COTURN_URL=turn:127.0.0.1:3322 \
//     BENCH_ROUNDS=3 node end2end/bench/turn-transfer.mjs [MB]
// A mode whose URL is not set is left out. The embedded server caps each allocation at 2 MB/s by default
// (P2P_TURN_BANDWIDTH): run it with P2P_TURN_BANDWIDTH=0 to compare throughput (scripts/bench-turn.sh does).
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright';
import { CHROMIUM_ARGS as args } from '../chromium-args.mjs';

const megabytes = Number(process.argv[2] ?? 32);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const secret = process.env.TURN_SECRET ?? '';
const modes = [
  { name: 'direct', url: null, pid: null },
  { name: 'embedded', url: process.env.TURN_EMBEDDED_URL, pid: process.env.TURN_EMBEDDED_PID },
  { name: 'coturn', url: process.env.TURN_COTURN_URL, pid: process.env.TURN_COTURN_PID },
].filter((m) => m.name === 'direct' || m.url);
if (modes.length > 1 && !secret) throw new Error('TURN_SECRET is needed to mint credentials for the relay modes');

/** TURN REST API credential for `peer`, valid for an hour. */
function credential(peer) {
  const username = `${Math.floor(Date.now() / 1000) + 3600}:${peer}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** CPU seconds (all threads) of `pid` so far, from /proc/PID/stat (utime + stime, 100 ticks a second). */
function cpuSecs(pid) {
  if (!pid) return NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** In the page: connect two peer connections with `configs`, transfer `bytes`, report times and the pair. */
async function transferInPage({ configs, bytes, chunk, highWater }) {
  const a = new RTCPeerConnection(configs[0]);
  const b = new RTCPeerConnection(configs[1]);
  // Trickle ICE in-page; a candidate that arrives before its remote description waits for it.
  const wire = (from, to) => {
    const queued = [];
    let ready = false;
    from.onicecandidate = (e) => {
      if (!e.candidate) return;
      if (ready) to.addIceCandidate(e.candidate).catch(() => {});
      else queued.push(e.candidate);
    };
    return () => {
      ready = true;
      for (const c of queued.splice(0)) to.addIceCandidate(c).catch(() => {});
    };
  };
  const flushToB = wire(a, b);
  const flushToA = wire(b, a);
  const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms));
  try {
    const tx = a.createDataChannel('bulk', { ordered: true });
    tx.binaryType = 'arraybuffer';
    const rxChannel = new Promise((resolve) => { b.ondatachannel = (e) => resolve(e.channel); });
    const opened = new Promise((resolve) => { tx.onopen = resolve; });
    const t0 = performance.now();
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(offer);
    flushToB();
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(answer);
    flushToA();
    await Promise.race([opened, timeout(20_000, 'the data channel did not open')]);
    const connectMs = performance.now() - t0;
    const rx = await Promise.race([rxChannel, timeout(20_000, 'no data channel arrived')]);
    rx.binaryType = 'arraybuffer';

    let received = 0;
    const done = new Promise((resolve) => {
      rx.onmessage = (e) => {
        received += e.data.byteLength;
        if (received >= bytes) resolve(performance.now());
      };
    });
    const message = new Uint8Array(chunk);
    tx.bufferedAmountLowThreshold = highWater / 4;
    const start = performance.now();
    for (let sent = 0; sent < bytes; sent += chunk) {
      if (tx.bufferedAmount > highWater) {
        await new Promise((resolve) => { tx.onbufferedamountlow = resolve; });
      }
      tx.send(message);
    }
    const end = await Promise.race([done, timeout(180_000, `the transfer did not complete (${received} of ${bytes} bytes)`)]);

    // The selected pair as the offerer sees it.
    const stats = await a.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    const local = pair ? stats.get(pair.localCandidateId)?.candidateType : undefined;
    const remote = pair ? stats.get(pair.remoteCandidateId)?.candidateType : undefined;
    return { connectMs, transferMs: end - start, received, local, remote };
  } finally {
    a.close();
    b.close();
  }
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args });
const page = await (await browser.newContext()).newPage();
await page.goto('about:blank');
const bytes = Math.round(megabytes * 1e6);
const results = new Map(modes.map((m) => [m.name, []]));
try {
  for (let r = 0; r < rounds; r++) {
    // Alternate the order so no mode always runs on a machine the previous one has just loaded.
    const order = r % 2 === 0 ? modes : [...modes].reverse();
    for (const mode of order) {
      const configs = mode.url
        ? ['a', 'b'].map((side) => ({
          iceServers: [{ urls: mode.url, ...credential(`bench-${side}-${Date.now()}`) }],
          iceTransportPolicy: 'relay',
        }))
        : [{ iceServers: [] }, { iceServers: [] }];
      const cpu0 = cpuSecs(mode.pid);
      const res = await page.evaluate(transferInPage, { configs, bytes, chunk: 16 * 1024, highWater: 4 << 20 });
      const cpu = cpuSecs(mode.pid) - cpu0;
      if (mode.url && (res.local !== 'relay' || res.remote !== 'relay')) {
        throw new Error(`${mode.name}: the selected pair is ${res.local}/${res.remote}, not relay/relay`);
      }
      results.get(mode.name).push({ ...res, cpu });
      console.error(`[turn-transfer] round ${r + 1} ${mode.name}: connect ${res.connectMs.toFixed(0)} ms, `
        + `${(res.received / 1e6 / (res.transferMs / 1000)).toFixed(1)} MB/s (${res.local}/${res.remote})`);
    }
  }
} finally {
  await browser.close();
}

const rate = (r) => r.received / 1e6 / (r.transferMs / 1000);
console.log(`### Browser data channel through the relay (Chromium, one page, two peer connections, ${megabytes} MB per round)\n`);
console.log('| mode | pair | rounds | connect ms (median) | per round | MB/s (median) | per round | server CPU ms per MB (median) |');
console.log('|---|---|---|---|---|---|---|---|');
const summary = {};
for (const mode of modes) {
  const rs = results.get(mode.name);
  const connect = median(rs.map((r) => r.connectMs));
  const speed = median(rs.map(rate));
  const cpuPerMb = median(rs.map((r) => (1000 * r.cpu) / (r.received / 1e6)));
  summary[mode.name] = { connect, speed };
  console.log(`| ${mode.name} | ${rs[0].local}/${rs[0].remote} | ${rs.length} | ${connect.toFixed(0)} | ${rs.map((r) => r.connectMs.toFixed(0)).join(', ')} | `
    + `${speed.toFixed(1)} | ${rs.map((r) => rate(r).toFixed(1)).join(', ')} | ${Number.isFinite(cpuPerMb) ? cpuPerMb.toFixed(1) : '-'} |`);
}
const ratios = ['embedded', 'coturn'].filter((name) => summary[name]).map((name) =>
  `${name} relay / direct: connect time ${(summary[name].connect / summary.direct.connect).toFixed(2)}x, `
  + `throughput ${(summary[name].speed / summary.direct.speed).toFixed(2)}x.`);
if (ratios.length) console.log(`\n${ratios.join(' ')}`);
