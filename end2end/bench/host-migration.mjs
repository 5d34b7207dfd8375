// Host-migration benchmark: 3 peers join a room, the host goes away (page closed, context closed, and a page
// whose pagehide handler never runs), and it prints how long until both survivors are connected to a new host
// with a 2-peer list. Figures only, no pass/fail. Run against a server that is already up:
//   BENCH_BASE_URL=http://127.0.0.1:3000 node end2end/bench/host-migration.mjs [rounds]
import { chromium } from 'playwright';
import { CHROMIUM_ARGS as args } from '../chromium-args.mjs';
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args });
const base = process.env.BENCH_BASE_URL ?? 'http://127.0.0.1:3000';
const rounds = Number(process.argv[2] ?? 3);
const results = {};
async function join(name, room) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(base + '/');
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId('join-room').fill(room);
  await page.getByTestId('join-submit').click();
  await page.waitForURL('**/rooms/' + room);
  await page.getByTestId('p2p-status').filter({ hasText: /^connected$/ }).waitFor();
  return page;
}
for (let round = 0; round < rounds; round++) for (const mode of ['page.close', 'context.close', 'pagehide suppressed']) {
  const room = 'm' + Date.now();
  const a = await join('alice', room); const b = await join('bob', room); const c = await join('carol', room);
  if (mode === 'pagehide suppressed') await a.evaluate(() => { window.addEventListener('pagehide', e => e.stopImmediatePropagation(), true); });
  const t0 = Date.now();
  if (mode === 'context.close') await a.context().close(); else await a.close();
  const both = async () => {
    for (;;) {
      const roles = await Promise.all([b, c].map(p => p.getByTestId('role').textContent()));
      const states = await Promise.all([b, c].map(p => p.getByTestId('p2p-status').textContent()));
      const counts = await Promise.all([b, c].map(p => p.getByTestId('peer').count()));
      if (roles.sort().join() === 'client,host' && states.every(s => s === 'connected') && counts.every(n => n === 2)) return;
      await new Promise((r) => setTimeout(r, 20)); // polling interval of the measurement, not a test wait
    }
  };
  await both();
  (results[mode] ??= []).push(Date.now() - t0);
  for (const p of [b, c]) await p.context().close();
}
console.log('| how the host left | runs | median ms | max ms |\n|---|---|---|---|');
for (const [mode, ms] of Object.entries(results)) {
  const sorted = [...ms].sort((x, y) => x - y);
  console.log(`| ${mode} | ${ms.length} | ${sorted[Math.floor(sorted.length / 2)]} | ${sorted[sorted.length - 1]} |`);
}
await browser.close();
