#!/usr/bin/env bash
# The TURN comparison in one command: our embedded STUN/TURN server vs Debian's coturn, same generator, same run.
#
#   scripts/bench-turn.sh              full run (~3 min after the builds): relay throughput and server CPU per
#                                      relayed MB (200 MB relay to relay: 1 pair, 4 pairs, 1 pair paced at
#                                      50 MB/s; 3 alternating runs each), memory per idle allocation (1,000
#                                      each), the browser data channel through each relay vs direct, and the
#                                      room page relay-only vs direct; writes docs/bench-results/<date>-turn.md
#                                      (+ .jsonl) and prints it
#   scripts/bench-turn.sh --smoke      seconds of the native part against the DEBUG server and coturn, 1 MB per
#                                      browser mode, failing only when an exchange did not complete (never on a
#                                      timing); no room page
#   scripts/bench-turn.sh --no-browser the native part only
#
# The generator is bench/turnload (its own cargo workspace, like bench/loadgen): it mints TURN REST API
# credentials from the shared secret, allocates on the server under test and pumps ChannelData from client A
# through A's relay to B's relay and on to B (the path of two relay-only browsers). Servers run pinned to core 0
# and the generator to core 1 (taskset, with 2+ cores), each server started fresh for every workload; server CPU
# (utime+stime, all threads) and RSS come from /proc/PID. The embedded server runs with P2P_TURN_BANDWIDTH=0 (its
# default caps each allocation at 2 MB/s, which would be the whole measurement) and its allocation limits raised;
# coturn runs with its defaults (no bandwidth or quota limit), logging to a temporary file.
# Ports: TURN_BENCH_PORT (default 3320) for our HTTP, +1 our TURN (UDP+TCP), +2 coturn; relay ports 44000-45999
# (ours) and 46000-47999 (coturn). BENCH_SERVER_BIN runs a given server binary instead of building one
# (BENCH_SERVER_LABEL names it in the results). The room-page part (full run only) needs the site: it runs
# `cargo leptos build --split` first (the debug server and target/site must come from one build).
# See docs/performance.md, "NAT traversal (TURN)".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh

MODE=full
BROWSER=1
for arg in "$@"; do
  case "$arg" in
    --smoke) MODE=smoke ;;
    --no-browser) BROWSER=0 ;;
    *) echo "usage: scripts/bench-turn.sh [--smoke] [--no-browser]" >&2; exit 2 ;;
  esac
done

PORT="${TURN_BENCH_PORT:-3320}"
PORT_HTTP="$PORT"; PORT_OURS=$((PORT + 1)); PORT_COTURN=$((PORT + 2))
RELAYS_OURS="44000-45999"; RELAYS_COTURN_MIN=46000; RELAYS_COTURN_MAX=47999
REALM="p2p-streams"
# Benchmark-only fixtures, never used anywhere else: the join-token secret our server needs to start, and the TURN
# shared secret both servers and the generator share.
export P2P_SECRET="bench-secret-not-for-production-0123"
export P2P_TURN_SECRET="turn-bench-fixture-secret-not-for-production"
TURNLOAD_TARGET="$CARGO_TARGET_DIR/turnload"
log() { printf '\033[1;34m[bench-turn]\033[0m %s\n' "$*" >&2; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
SERVER_CPU=(); GEN_CPU=()
if command -v taskset >/dev/null && (( $(nproc) >= 2 )); then SERVER_CPU=(taskset -c 0); GEN_CPU=(taskset -c 1); fi
# As in scripts/bench.sh: on a shared machine, as root, the measured processes run at a higher priority (the same
# for both servers). BENCH_NICE=0 disables it.
NICE="${BENCH_NICE:--10}"
if [[ "$MODE" == full && "$(id -u)" == 0 && "$NICE" != 0 ]]; then
  SERVER_CPU=(nice -n "$NICE" "${SERVER_CPU[@]}"); GEN_CPU=(nice -n "$NICE" "${GEN_CPU[@]}")
else
  NICE=0
fi

# --- what is needed, installed only when missing --------------------------------------------------------------
if ! command -v turnserver >/dev/null || { (( BROWSER )) && [[ ! -x /usr/bin/chromium ]]; }; then
  scripts/setup.sh --test # coturn (its system service disabled), Chromium, Playwright's dependencies
fi
command -v turnserver >/dev/null || { echo "turnserver (Debian's coturn) not found" >&2; exit 1; }
if (( BROWSER )) && [[ ! -d end2end/node_modules/playwright ]]; then
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi
if [[ "$MODE" == smoke ]]; then
  PROFILE=debug
  SERVER_BIN="${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/debug/p2p-streams}"
  [[ -x "$SERVER_BIN" ]] || cargo build --features ssr --bin p2p-streams --locked
  CARGO_TARGET_DIR="$TURNLOAD_TARGET" cargo build --manifest-path bench/turnload/Cargo.toml --locked -q
else
  PROFILE=release
  SERVER_BIN="${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/release/p2p-streams}"
  if [[ -z "${BENCH_SERVER_BIN:-}" ]]; then
    log "building the release server (cargo build --release --features ssr --bin p2p-streams)"
    cargo build --release --features ssr --bin p2p-streams --locked
  fi
  CARGO_TARGET_DIR="$TURNLOAD_TARGET" cargo build --manifest-path bench/turnload/Cargo.toml --release --locked -q
fi
TURNLOAD="$TURNLOAD_TARGET/$PROFILE/turnload"
OURS_VERSION="${BENCH_SERVER_LABEL:-p2p-streams $(git rev-parse --short HEAD) ($PROFILE)}"
COTURN_VERSION="coturn $(turnserver --version 2>/dev/null | head -n1 | tr -d '[:space:]')"

# --- servers ---------------------------------------------------------------------------------------------------
SERVER_PID=""
TMP="$(mktemp -d -t p2p-bench-turn.XXXXXX)"
# Nothing may listen on the port before we start (coturn binds with SO_REUSEPORT and would share it silently).
port_free() { [[ -z "$(ss -Hlun "sport = :$1")$(ss -Hltn "sport = :$1")" ]]; }
wait_udp() { # port pid
  for _ in $(seq 1 200); do
    [[ -n "$(ss -Hlun "sport = :$1")" ]] && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  echo "no TURN server listening on UDP port $1" >&2; return 1
}
wait_tcp() { # port
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2; return 1
}
# Our server with the embedded TURN server; extra environment as arguments (NAME=VALUE ...).
start_ours() {
  if ! port_free "$PORT_OURS" || ! port_free "$PORT_HTTP"; then
    echo "port $PORT_HTTP or $PORT_OURS is taken" >&2; return 1
  fi
  env "$@" P2P_TURN_LISTEN="127.0.0.1:$PORT_OURS" P2P_TURN_EXTERNAL_IP=127.0.0.1 P2P_TURN_REALM="$REALM" \
    P2P_TURN_RELAY_PORTS="$RELAYS_OURS" P2P_TURN_MAX_ALLOCATIONS=100000 RUST_LOG=warn \
    "${SERVER_CPU[@]}" "$SERVER_BIN" --addr "127.0.0.1:$PORT_HTTP" >"$TMP/ours.log" 2>&1 &
  SERVER_PID=$!
  wait_tcp "$PORT_HTTP" && wait_udp "$PORT_OURS" "$SERVER_PID"
}
start_coturn() {
  port_free "$PORT_COTURN" || { echo "port $PORT_COTURN is taken" >&2; return 1; }
  # -n: no config file; UDP+TCP on one loopback port, relays on loopback; no TLS/DTLS/CLI/RFC 5780 listeners;
  # pid file, log and (unused) SQLite user db in our temporary directory.
  "${SERVER_CPU[@]}" turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$PORT_COTURN" \
    --min-port="$RELAYS_COTURN_MIN" --max-port="$RELAYS_COTURN_MAX" --realm="$REALM" \
    --use-auth-secret --static-auth-secret="$P2P_TURN_SECRET" --allow-loopback-peers \
    --no-tls --no-dtls --no-cli --no-rfc5780 --pidfile="$TMP/turnserver.pid" --userdb="$TMP/turndb" \
    --log-file=stdout >"$TMP/coturn.log" 2>&1 &
  SERVER_PID=$!
  wait_udp "$PORT_COTURN" "$SERVER_PID"
}
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
COTURN_PID=""
cleanup() {
  stop_server
  if [[ -n "$COTURN_PID" ]]; then kill "$COTURN_PID" 2>/dev/null || true; wait "$COTURN_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

RESULTS="$TMP/results.jsonl"
STRICT=(); [[ "$MODE" == smoke ]] && STRICT=(--strict)
# One workload against one fresh server: run <embedded|coturn> <run number> <turnload workload args...>
run() {
  local server="$1" number="$2" port label; shift 2
  if [[ "$server" == embedded ]]; then
    start_ours P2P_TURN_BANDWIDTH=0; port=$PORT_OURS; label="$OURS_VERSION"
  else
    start_coturn; port=$PORT_COTURN; label="$COTURN_VERSION"
  fi
  sleep 0.3
  log "$server: $*"
  "${GEN_CPU[@]}" "$TURNLOAD" --server "127.0.0.1:$port" --server-pid "$SERVER_PID" --name "$server" \
    --label "$label" --run "$number" "${STRICT[@]}" "$@" | tee -a "$RESULTS" >&2
  stop_server
}

# The browser transfer: both servers up at once (ours with P2P_TURN_BANDWIDTH=0), three modes per round.
browser_transfer() { # megabytes rounds
  start_coturn
  COTURN_PID="$SERVER_PID"; SERVER_PID="" # cleanup stops both
  start_ours P2P_TURN_BANDWIDTH=0
  (cd end2end && TURN_SECRET="$P2P_TURN_SECRET" TURN_EMBEDDED_URL="turn:127.0.0.1:$PORT_OURS?transport=udp" \
    TURN_COTURN_URL="turn:127.0.0.1:$PORT_COTURN?transport=udp" TURN_EMBEDDED_PID="$SERVER_PID" \
    TURN_COTURN_PID="$COTURN_PID" BENCH_ROUNDS="$2" nice -n "$NICE" node bench/turn-transfer.mjs "$1")
  stop_server
  kill "$COTURN_PID" 2>/dev/null || true; wait "$COTURN_PID" 2>/dev/null || true; COTURN_PID=""
}
# The room page: our server with the site and its embedded TURN server (default bandwidth cap).
browser_room() { # rounds
  start_ours LEPTOS_SITE_ROOT="$ROOT/target/site"
  (cd end2end && BENCH_BASE_URL="http://127.0.0.1:$PORT_HTTP" BENCH_ROUNDS="$1" nice -n "$NICE" node bench/turn-room.mjs)
  stop_server
}
site_built() { [[ -f target/site/pkg/p2p-streams.js && -f target/site/pkg/p2p-streams.wasm ]]; }

if [[ "$MODE" == smoke ]]; then
  for server in embedded coturn; do
    run "$server" 1 relay --megabytes 2
    run "$server" 1 idle --allocations 20 --hold-secs 0.2
  done
  "$TURNLOAD" table "$RESULTS" >/dev/null
  log "smoke: every TURN exchange completed against both servers"
  if (( BROWSER )); then
    # The browser transfer at its smallest (it throws when a channel does not open or a relayed pair is not
    # relay/relay). Not the room page: it needs a site built with the server (a full build), and the relay-only
    # room is what turn-embedded.spec.ts proves in the suite.
    browser_transfer 1 1 >&2
    log "smoke: browser transfers completed"
  fi
  exit 0
fi

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
# Relay to relay, 200 MB in 1,000-byte datagrams, three runs of each shape, alternating, a fresh server every run:
# - one pair of clients, 32 datagrams in flight (one flow; on a quiet machine it keeps the server's core busy);
# - four pairs at once, 32 in flight each (128 datagrams queued at the server at once: its buffers);
# - one pair paced at 50 MB/s (the same load on both servers: CPU per MB below saturation).
for shape in "--pairs 1" "--pairs 4" "--pairs 1 --rate-mbs 50"; do
  for number in 1 2 3; do
    # shellcheck disable=SC2086 # the shape is a list of flags
    for server in embedded coturn; do run "$server" "$number" relay --megabytes 200 --size 1000 --window 32 $shape; done
  done
done
for server in embedded coturn; do run "$server" 1 idle --allocations 1000 --hold-secs 2; done
LOAD_NATIVE="$(cut -d' ' -f1-3 /proc/loadavg)"

OUT="docs/bench-results/$(date -u +%Y-%m-%d)-turn.md"
{
  echo "# TURN benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr)"
  echo "- servers pinned to core 0, generator to core 1: ${SERVER_CPU[*]:-no taskset} / ${GEN_CPU[*]:-no taskset} (nice $NICE)"
  echo "- embedded: $OURS_VERSION, P2P_TURN_BANDWIDTH=0, P2P_TURN_MAX_ALLOCATIONS=100000, no P2P_TURN_ALLOW_PEERS (relay to relay is allowed by default)"
  echo "- coturn: $COTURN_VERSION (Debian), defaults (no bandwidth or quota limit), --use-auth-secret, --allow-loopback-peers"
  echo "- generator: bench/turnload (Rust, tokio current-thread, raw ChannelData on the client sockets)"
  echo "- command: ${BENCH_SERVER_BIN:+BENCH_SERVER_BIN=$BENCH_SERVER_BIN }scripts/bench-turn.sh; load on the machine: $LOAD_START at the start, $LOAD_NATIVE after the native part (1/5/15 min load averages)"
  "$TURNLOAD" table "$RESULTS"
} >"$TMP/out.md"
if (( BROWSER )); then
  log "browser: data channel through each relay vs direct (32 MB, 3 rounds)"
  { echo; browser_transfer 32 3; } >>"$TMP/out.md"
  # The room page runs the debug server and site of one `cargo leptos build --split` of this checkout, built
  # right before (a no-op when fresh): the shared target directory's debug binary may come from another checkout.
  log "building the debug server and site for the room page (cargo leptos build --split)"
  cargo leptos build --split
  site_built || { echo "cargo leptos build --split left no site in target/site" >&2; exit 1; }
  log "browser: room page relay-only vs direct (5 rounds)"
  {
    echo
    SERVER_BIN="$CARGO_TARGET_DIR/debug/p2p-streams" browser_room 5
    echo
    echo "(room page: the debug server and target/site of \`cargo leptos build --split\` at $(git rev-parse --short HEAD)," \
      "its embedded TURN server with the default bandwidth cap; both pages of a round in the same mode)"
  } >>"$TMP/out.md"
  echo -e "\n- load after the browser part: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TMP/out.md"
fi
mkdir -p docs/bench-results
mv "$TMP/out.md" "$OUT"
cp "$RESULTS" "${OUT%.md}.jsonl"
cat "$OUT"
log "written: $OUT"
