#!/usr/bin/env bash
# The README's production build, then one smoke run of it (scripts/test.sh runs this, so the documented build
# cannot rot): `cargo leptos build --release --split --precompress` with content-hashed names into
# target/site-release, exactly as the README gives it, then the release binary on a free loopback port with that
# site and a P2P_SECRET, asked for the lobby, a room page, the room's wasm (raw: the wasm magic; brotli: as sent
# to browsers, immutable) and its JS, which Node then loads and lets instantiate that wasm; then stopped with
# SIGTERM, which must end it cleanly. Expects scripts/setup.sh to have run (wasm-opt in tools/).
#   scripts/release-smoke.sh [build|serve]   one part only (test.sh builds in the background, serves later)
set -euo pipefail
PART="${1:-all}"
[[ "$PART" =~ ^(all|build|serve)$ ]] || { echo "usage: scripts/release-smoke.sh [build|serve]" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh

SITE=target/site-release
BIN="$CARGO_TARGET_DIR/release/p2p-streams"
log() { printf '\033[1;34m[release]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[release]\033[0m %s\n' "$*" >&2; exit 1; }

if [[ "$PART" != serve ]]; then
  log "LEPTOS_HASH_FILES=true LEPTOS_SITE_ROOT=$SITE cargo leptos build --release --split --precompress"
  command -v wasm-opt >/dev/null || fail "no wasm-opt on PATH: run scripts/setup.sh (it installs npm binaryen 132 into tools/)"
  LEPTOS_HASH_FILES=true LEPTOS_SITE_ROOT="$SITE" cargo leptos build --release --split --precompress
  log "built: $BIN and $SITE"
fi
[[ "$PART" != build ]] || exit 0

WORK="$(mktemp -d)"
PID=""
cleanup() {
  [[ -z "$PID" ]] || { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

LEPTOS_HASH_FILES=true LEPTOS_SITE_ROOT="$SITE" P2P_SECRET=release-smoke-secret-not-for-production RUST_LOG=info \
  "$BIN" --addr 127.0.0.1:0 --log-format json >"$WORK/server.log" 2>&1 &
PID=$!
ADDR=""
for _ in $(seq 1 300); do # 30 s at most
  ADDR="$(sed -n 's/.*"message":"p2p-streams listening".*"addr":"\([^"]*\)".*/\1/p' "$WORK/server.log" | head -n1)"
  [[ -n "$ADDR" ]] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; fail "the release server exited at start-up"; }
  sleep 0.1
done
[[ -n "$ADDR" ]] || { cat "$WORK/server.log" >&2; fail "the release server did not listen within 30 s"; }
BASE="http://$ADDR"
log "serving on $BASE"

# fetch PATH OUT [curl args...]: 200 or fail; headers in OUT.headers.
fetch() {
  local path="$1" out="$2"; shift 2
  local status
  status="$(curl -sS --max-time 20 -o "$out" -D "$out.headers" -w '%{http_code}' "$@" "$BASE$path")"
  [[ "$status" == 200 ]] || fail "GET $path answered $status"
}
header() { grep -i "^$1:" "$2.headers" | head -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

fetch / "$WORK/lobby.html"
fetch /rooms/release-smoke "$WORK/room.html"
WASM="$(grep -o '/pkg/p2p-streams\.[A-Za-z0-9_-]*\.wasm' "$WORK/room.html" | head -n1)"
JS="$(grep -o '/pkg/p2p-streams\.[A-Za-z0-9_-]*\.js' "$WORK/room.html" | head -n1)"
[[ -n "$WASM" && -n "$JS" ]] || fail "the room page links no hashed wasm and JS"

fetch "$WASM" "$WORK/room.wasm"
[[ "$(od -An -tx1 -N8 "$WORK/room.wasm" | tr -d ' \n')" == 0061736d01000000 ]] || fail "$WASM is not a wasm module"
fetch "$WASM" "$WORK/room.wasm.br" -H 'Accept-Encoding: br'
[[ "$(header content-encoding "$WORK/room.wasm.br")" == br ]] || fail "$WASM is not sent precompressed (brotli)"
[[ "$(header cache-control "$WORK/room.wasm.br")" == *immutable* ]] || fail "$WASM is not immutable"

# The JS glue and the split loader it imports, as served, loaded by Node as ES modules; the glue then instantiates
# the served wasm and runs wasm-bindgen's start (which sets up the externref table: where a wasm broken by a
# wrong wasm-opt fails, e.g. "WebAssembly.Table.set(): Argument 1 is invalid").
mkdir "$WORK/js" && echo '{"type":"module"}' >"$WORK/js/package.json"
fetch "$JS" "$WORK/js/${JS#/pkg/}"
[[ "$(header content-type "$WORK/js/${JS#/pkg/}")" == *javascript* ]] || fail "$JS is not served as JavaScript"
for module in $(grep -o 'from *"\./[^"/]*\.js"' "$WORK/js/${JS#/pkg/}" | sed 's/.*"\.\/\(.*\)"/\1/' | sort -u); do
  fetch "/pkg/$module" "$WORK/js/$module"
done
node --input-type=module -e '
  const [glue, wasm] = process.argv.slice(1);
  const module = await import(glue);
  module.initSync({ module: (await import("node:fs")).readFileSync(wasm) });
' "$WORK/js/${JS#/pkg/}" "$WORK/room.wasm" || fail "$JS could not instantiate $WASM"
log "ok: /, a room page, $WASM ($(stat -c %s "$WORK/room.wasm") bytes, $(stat -c %s "$WORK/room.wasm.br") brotli), $JS"

kill -TERM "$PID"
status=0
wait "$PID" || status=$?
PID=""
[[ "$status" == 0 ]] || { cat "$WORK/server.log" >&2; fail "the release server exited with $status on SIGTERM"; }
