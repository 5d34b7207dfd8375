// Where the room page's bytes go: release builds of the chat room with parts taken away, one table.
//   source scripts/env.sh && node end2end/bench/bundle-floors.mjs
//   node end2end/bench/bundle-floors.mjs --check   only checks that every edit below still applies (no build)
//
// Each row is a release build (`LEPTOS_HASH_FILES=true cargo leptos build --release --split --frontend-only`) of
// this checkout's HEAD in a temporary git worktree, measured as bundle-size.mjs measures the room page (gzip -9 of
// the main JS, its static imports and the main wasm). The rows after the first share one setting, so that each
// measures its own code only: the lazy islands (lobby list, inspector, whiteboard, stage) are rendered on the
// server only, and there are no lazy functions (the demo's probe panel and file rows, the toolkit's `split` file
// chunk), which wasm-split would otherwise keep in the main module as soon as no island calls them.
// - "Leptos alone": the chat island renders a paragraph with a signal and a click handler; no toolkit code.
// - "+ <P2pFrame>": the island holds the frame (its driver: signaling, WebRTC links, delivery, migration, sealed
//   history) with a paragraph inside.
// - "+ a minimal chat": inside the frame, `use_p2p::<ChatMessage>()`, one `<For>` of lines and a composer.
// The worktree is removed afterwards; nothing in the checkout changes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const check = process.argv.includes('--check');
// The checkout this script is in (with --check, no git needed: CI may run from an export).
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const head = check ? '' : execFileSync('git', ['-C', repo, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const scratch = check ? '' : mkdtempSync(join(tmpdir(), 'bundle-floors-'));
const tree = check ? repo : join(scratch, 'tree');

// The edited texts, written to the worktree before each build (never with --check).
const texts = new Map();
const text = (file) => texts.get(file) ?? readFileSync(join(tree, file), 'utf8');
function flush() {
  for (const [file, content] of texts) writeFileSync(join(tree, file), content);
}

/** Replaces `from` (which must be there) by `to` in `file`. */
function edit(file, from, to) {
  if (!text(file).includes(from)) throw new Error(`${file} no longer holds ${JSON.stringify(from.slice(0, 60))}`);
  texts.set(file, text(file).split(from).join(to));
}

/** The chat island's frame (from `<P2pFrame` to `</P2pFrame>`) replaced by `view(frame)`. */
function islandBody(view) {
  const chat = text('src/rooms/chat.rs');
  const start = chat.indexOf('        <P2pFrame session_id=session');
  const end = chat.indexOf('</P2pFrame>', start);
  if (start < 0 || end < 0) throw new Error('src/rooms/chat.rs: the chat island no longer holds its <P2pFrame>');
  const frame = chat.slice(start, end + '</P2pFrame>'.length);
  const body = view(frame);
  if (body === frame) throw new Error('src/rooms/chat.rs: the chat island\'s frame no longer holds what a row replaces');
  texts.set('src/rooms/chat.rs', chat.replace(frame, body));
}

const minimalChat = `
#[component]
fn MinimalChat() -> impl IntoView {
    let p2p = use_p2p::<ChatMessage>();
    let draft = RwSignal::new(String::new());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if p2p.send(ChatMessage { text: draft.get_untracked() }).is_ok() {
            draft.set(String::new());
        }
    };
    view! {
        <ol>
            <For each=move || p2p.messages.get() key=|m| (m.from.clone(), m.seq, m.epoch, m.index) let:m>
                <li>{m.from.user().to_owned()}": "{m.data.text}</li>
            </For>
        </ol>
        <form on:submit=on_submit><input type="text" bind:value=draft /></form>
    }
}
`;

/** Builds the worktree as it is now and returns the room page's gzip and raw KB. */
function build(name) {
  if (check) return { raw: 0, gz: 0 };
  flush();
  const site = join(scratch, `site-${name}`);
  const env = {
    ...process.env,
    LEPTOS_HASH_FILES: 'true',
    LEPTOS_HASH_FILE_NAME: join(scratch, 'hash.txt'),
    LEPTOS_SITE_ROOT: site,
  };
  process.stderr.write(`[bundle-floors] building: ${name}\n`);
  execFileSync('cargo', ['leptos', 'build', '--release', '--split', '--frontend-only'], {
    cwd: tree, env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20,
  });
  const table = execFileSync('node', [join(repo, 'end2end/bench/bundle-size.mjs'), join(site, 'pkg')], {
    encoding: 'utf8',
  });
  const row = table.match(/\*\*room page: wasm \+ JS\*\* \| \*\*([\d.]+)\*\* \| \*\*([\d.]+)\*\*/);
  if (!row) throw new Error(`no room page row in:\n${table}`);
  return { raw: Number(row[1]), gz: Number(row[2]) };
}

const rows = [];
try {
  if (!check) execFileSync('git', ['-C', repo, 'worktree', 'add', '--detach', '--quiet', tree, 'HEAD']);
  rows.push(['the chat room as committed', build('committed')]);

  // Every lazy island and lazy function of the demo, wherever it is.
  const sources = readdirSync(join(tree, 'src'), { recursive: true })
    .filter((file) => file.endsWith('.rs'))
    .map((file) => join('src', file));
  const holding = (marker) => sources.filter((file) => text(file).includes(marker));
  for (const [marker, replacement] of [
    ['\n#[island(lazy)]\nfn ', '\n#[component]\nfn '],
    ['\n#[lazy]\nfn ', '\n#[allow(dead_code)]\nasync fn '],
  ]) {
    const files = holding(marker);
    if (files.length === 0) throw new Error(`no file in src/ holds ${JSON.stringify(marker)} any more`);
    for (const file of files) edit(file, marker, replacement);
  }
  edit('Cargo.toml', '"p2p-streams/split", ', '');
  texts.set('src/rooms/chat.rs', text('src/rooms/chat.rs') + minimalChat);

  islandBody((frame) => frame.replace('<ChatRoomContent room name events />', '<MinimalChat />'));
  rows.push(['+ a minimal chat (`use_p2p`, a `<For>` of lines, a composer)', build('minimal-chat')]);
  islandBody((frame) => frame.replace('<MinimalChat />', '<p>"in the frame"</p>'));
  rows.push(['+ `<P2pFrame>` (the driver), a paragraph inside', build('frame')]);
  islandBody(() => '        <p on:click=move |_| log("click")>{move || events.get().len()}</p>');
  rows.push(['Leptos alone: the island renders a paragraph', build('leptos')]);
} finally {
  if (!check) {
    execFileSync('git', ['-C', repo, 'worktree', 'remove', '--force', tree]);
    rmSync(scratch, { recursive: true, force: true });
  }
}
if (check) {
  console.log(`bundle-floors: every edit still applies to this checkout (${texts.size} files, ${rows.length} builds, none made)`);
  process.exit(0);
}

console.log(`### Room page floors (${head}, ${new Date().toISOString().slice(0, 10)})\n`);
console.log('| build | room page raw KB | gzip KB |\n|---|---|---|');
for (const [name, { raw, gz }] of rows.reverse()) console.log(`| ${name} | ${raw.toFixed(1)} | ${gz.toFixed(1)} |`);
