// File-transfer benchmark: one file of N MB (random bytes) from a client to another client through the host
// (the chat room's file sharing: `file-input`, `file-transfer` rows), in one run:
//   - throughput: choosing the file to the receiver's row reaching data-state="done" (SHA-256 checked there);
//   - chat latency while it moves: the host sends a chat line every 100 ms stamped with Date.now(); the receiver
//     records when each appears (a MutationObserver; all pages share the machine's clock): p50/p99, against
//     10 lines sent the same way before the transfer (the baseline). Each line is stamped by the host page
//     as it submits the form (not by Playwright before typing: its input round trips to a busy renderer are not
//     the toolkit's latency);
//   - receiver memory: peak JS heap (performance.memory, precise) plus wasm linear memory (every instantiated
//     module's Memory, captured by an init script), sampled every 50 ms, against the file's size. Received
//     bytes folded into Blobs live in the browser's blob storage, outside both: the figure is what the page
//     itself holds.
// Prints a markdown table; throws when the transfer does not complete (the smoke run's only assertion).
//   BENCH_BASE_URL=http://127.0.0.1:3000 node end2end/bench/file-transfer.mjs [MB]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { chromium } from 'playwright';
import { CHROMIUM_ARGS } from '../chromium-args.mjs';

const mb = Number(process.argv[2] ?? 200);
const base = process.env.BENCH_BASE_URL ?? 'http://127.0.0.1:3000';
const size = mb * 1024 * 1024;
const args = [...CHROMIUM_ARGS, '--enable-precise-memory-info'];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args });

// Captures every wasm Memory the page instantiates, so its size can be read.
function captureWasmMemory() {
  window.__wasmMemories = [];
  const keep = (result) => {
    const instance = result.instance ?? result;
    for (const value of Object.values(instance.exports ?? {})) {
      if (value instanceof WebAssembly.Memory) window.__wasmMemories.push(value);
    }
    return result;
  };
  const streaming = WebAssembly.instantiateStreaming;
  const plain = WebAssembly.instantiate;
  WebAssembly.instantiateStreaming = (...a) => streaming.apply(WebAssembly, a).then(keep);
  WebAssembly.instantiate = (...a) => plain.apply(WebAssembly, a).then(keep);
}

async function join(name, room) {
  const context = await browser.newContext();
  await context.addInitScript(captureWasmMemory);
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.getByTestId('join-name').fill(name);
  await page.getByTestId('join-room').fill(room);
  await page.getByTestId('join-submit').click();
  await page.waitForURL('**/rooms/' + room);
  await page.getByTestId('p2p-status').filter({ hasText: /^connected$/ }).waitFor({ timeout: 30_000 });
  return page;
}

const dir = mkdtempSync(joinPath(tmpdir(), 'p2p-file-bench-'));
const path = joinPath(dir, 'bench.bin');
writeFileSync(path, randomBytes(size));
const room = 'files' + Date.now().toString(36);
const host = await join('host', room);
const sender = await join('sender', room);
const receiver = await join('receiver', room);

await receiver.evaluate(() => {
  window.__arrivals = [];
  window.__peak = 0;
  const seen = new Set();
  new MutationObserver(() => {
    for (const li of document.querySelectorAll('[data-testid="chat-line"]')) {
      const m = /t=(\d+)/.exec(li.textContent ?? '');
      if (m && !seen.has(m[1])) { seen.add(m[1]); window.__arrivals.push(Date.now() - Number(m[1])); }
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
  window.__sampler = setInterval(() => {
    const wasm = (window.__wasmMemories ?? []).reduce((sum, m) => sum + m.buffer.byteLength, 0);
    window.__peak = Math.max(window.__peak, performance.memory.usedJSHeapSize + wasm);
  }, 50);
});
// One chat line from the host, stamped by the host page as it submits the form (one script run in the page,
// not Playwright's typing and clicking, whose round trips to a renderer busy with file data would be measured
// too): what is measured is the toolkit's path, host page -> receiver's screen.
const sendLine = () =>
  host.evaluate(() => {
    const input = document.querySelector('[data-testid="chat-input"]');
    input.value = `t=${Date.now()}`;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.form.requestSubmit();
  });
// Chat latency with no transfer, same pages, same method: the baseline.
for (let i = 0; i < 10; i++) {
  await sendLine();
  await host.waitForTimeout(100);
}
await receiver.waitForFunction(() => window.__arrivals.length >= 10, null, { timeout: 30_000 });
const idle = await receiver.evaluate(() => window.__arrivals.splice(0));
const baseline = await receiver.evaluate(() => window.__peak);

const t0 = Date.now();
await sender.getByTestId('file-input').setInputFiles(path);
const row = receiver.locator('[data-testid="file-transfer"][data-file-name="bench.bin"]');
let sent = 0;
for (;;) {
  const state = await row.getAttribute('data-state').catch(() => null);
  if (state === 'done') break;
  if (state === 'failed' || state === 'cancelled') throw new Error(`the transfer ended ${state}`);
  if (Date.now() - t0 > 600_000) throw new Error('the transfer did not complete in 10 minutes');
  await sendLine();
  sent += 1;
  await host.waitForTimeout(100);
}
const secs = (Date.now() - t0) / 1000;
const { arrivals, peak } = await receiver.evaluate(() => ({ arrivals: window.__arrivals, peak: window.__peak }));
await browser.close();
rmSync(dir, { recursive: true, force: true });

const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
};
const pct = (p) => percentile(arrivals, p);
const MiB = 1024 * 1024;
console.log(`\n### File transfer, ${mb} MB client -> host -> client\n`);
console.log('| measure | value |');
console.log('|---------|-------|');
console.log(`| time to done on the receiver (SHA-256 checked) | ${secs.toFixed(1)} s (${(size / 1e6 / secs).toFixed(1)} MB/s) |`);
console.log(`| chat lines during the transfer (sent / seen) | ${sent} / ${arrivals.length} |`);
console.log(`| chat latency with no transfer (baseline, 10 lines), p50 / p99 | ${percentile(idle, 50)} / ${percentile(idle, 99)} ms |`);
console.log(`| chat latency during the transfer, p50 / p99 | ${pct(50)} / ${pct(99)} ms (p50 ${(pct(50) / percentile(idle, 50)).toFixed(2)}x the baseline) |`);
console.log(`| receiver peak JS heap + wasm memory | ${(peak / MiB).toFixed(0)} MiB (${(peak / size).toFixed(2)}x the file; ${(baseline / MiB).toFixed(0)} MiB before) |`);
