// Prints the size of the site's wasm and JS (raw and gzip -9) as markdown tables.
//   node end2end/bench/bundle-size.mjs target/site/pkg [output-name]
//
// The site is built with `cargo leptos build --split`: the lobby's room list, /admin's inspector and the whiteboard
// are lazy islands whose code lives in wasm chunks, listed in `__wasm_split_manifest.json` (lazy function -> the
// chunks it needs).
// - "room page": what a chat room (`/rooms/:room`) downloads: the main JS, every JS module it imports statically
//   (the split loader), and the main wasm. It calls no lazy function, so it fetches no chunk
//   (end2end/tests/lazy-islands.spec.ts checks that in a browser).
// - one row per lazy island: the chunks it fetches when first shown (shared chunks counted in each row);
// - "all chunks": every chunk once. Without `--split` (no manifest) the tables reduce to the main files.
// A site built with `LEPTOS_HASH_FILES=true` has a content hash in every name (`p2p-streams.<hash>.wasm`): the
// files are found either way, and the tables show the names without their hashes.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dir = process.argv[2] ?? 'target/site/pkg';
const outputName = process.argv[3] ?? 'p2p-streams';
const kb = (n) => (n / 1000).toFixed(1);

const sizes = new Map();
/** Raw and gzip -9 size of one file of the pkg dir, read once. */
function size(file) {
  if (!sizes.has(file)) {
    const data = readFileSync(join(dir, file));
    sizes.set(file, { raw: data.length, gz: gzipSync(data, { level: 9 }).length });
  }
  return sizes.get(file);
}
const sum = (files) =>
  files.reduce((acc, f) => ({ raw: acc.raw + size(f).raw, gz: acc.gz + size(f).gz }), { raw: 0, gz: 0 });

/** `file` and the pkg-local JS modules it imports statically, transitively (`import ... from "./x.js"`). */
function staticImports(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = readFileSync(join(dir, file), 'utf8');
  for (const m of source.matchAll(/(?:^|[;\s}])import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) {
    if (existsSync(join(dir, m[1]))) staticImports(m[1], seen);
  }
  return seen;
}

/** The pkg file named `stem.ext` or `stem.<hash>.ext` (hashed build), if any. */
const files = readdirSync(dir);
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const find = (stem, ext) => {
  const found = files.filter((f) => new RegExp(`^${escape(stem)}(\\.[\\w-]+)?\\.${ext}$`).test(f));
  if (found.length > 1) throw new Error(`${dir} holds more than one build: ${found.join(', ')}`);
  return found[0];
};
/** A file's name as the tables show it: without the content hash of a hashed build. */
const label = (f) => f.replace(/\.[\w-]{22}(?=\.\w+$)/, '');

const mainJs = find(outputName, 'js');
const mainWasm = find(outputName, 'wasm');
if (!mainJs || !mainWasm) throw new Error(`no ${outputName} JS and wasm in ${dir}`);
const roomPage = [...staticImports(mainJs), mainWasm];
const manifestFile = find('__wasm_split_manifest', 'json');
const manifest = manifestFile ? JSON.parse(readFileSync(join(dir, manifestFile), 'utf8')) : {};
const chunks = files.filter((f) => f.endsWith('.wasm') && f !== mainWasm).sort();

console.log('### Release bundle\n\n| file | raw KB | gzip KB |\n|---|---|---|');
for (const f of roomPage) console.log(`| ${label(f)} | ${kb(size(f).raw)} | ${kb(size(f).gz)} |`);
const room = sum(roomPage);
console.log(`| **room page: wasm + JS** | **${kb(room.raw)}** | **${kb(room.gz)}** |`);

if (chunks.length > 0) {
  console.log('\n| lazy island (chunks fetched on first show) | chunks | raw KB | gzip KB |\n|---|---|---|---|');
  for (const [lazyFn, modules] of Object.entries(manifest).sort()) {
    const files = modules.map((m) => `${m}.wasm`);
    const total = sum(files);
    // `__whiteboard_loader_<hash>` (a lazy island's loader) -> `whiteboard`
    const island = lazyFn.replace(/^__/, '').replace(/_(loader|view)_\d+$/, '');
    console.log(`| ${island} | ${files.length} | ${kb(total.raw)} | ${kb(total.gz)} |`);
  }
  const all = sum(chunks);
  console.log(`| **all chunks (each once)** | ${chunks.length} | **${kb(all.raw)}** | **${kb(all.gz)}** |`);
  const everything = { raw: room.raw + all.raw, gz: room.gz + all.gz };
  console.log(`| **everything (room page + all chunks)** | | **${kb(everything.raw)}** | **${kb(everything.gz)}** |`);
}
