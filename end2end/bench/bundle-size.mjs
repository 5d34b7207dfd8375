// Prints the size of the site's wasm and JS (raw and gzip -9) as a markdown table.
//   node end2end/bench/bundle-size.mjs target/site/pkg
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
const dir = process.argv[2] ?? 'target/site/pkg';
const files = readdirSync(dir).filter((f) => f.endsWith('.wasm') || f.endsWith('.js'));
let raw = 0, gz = 0;
console.log('### Release bundle\n\n| file | raw KB | gzip KB |\n|---|---|---|');
for (const f of files.sort()) {
  const data = readFileSync(join(dir, f));
  const z = gzipSync(data, { level: 9 }).length;
  raw += data.length; gz += z;
  console.log(`| ${f} | ${(data.length / 1000).toFixed(1)} | ${(z / 1000).toFixed(1)} |`);
}
console.log(`| **wasm + JS** | **${(raw / 1000).toFixed(1)}** | **${(gz / 1000).toFixed(1)}** |`);
