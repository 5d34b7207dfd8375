#!/usr/bin/env bash
# One signaling node vs two nodes on Redis, same load generator, same run (the numbers in the README's
# "Several nodes on Redis" section). Three setups: one node with the memory store (the default), one node with
# the Redis store, and two nodes sharing Redis with every session split across them (`loadgen --cross-node`:
# each W2 pair and each W3 host/client pair sits on different nodes, so every signal crosses Redis pub/sub).
# Nodes and redis-server share core 0, the generator has core 1. Writes docs/bench-results/<date>-nodes.md.
#   scripts/bench-nodes.sh            # W2 100 pairs for 10 s, W3 50 sessions for 10 s, per setup
#   BENCH_SERVER_BIN=path ...         # a given (release) server binary
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
source scripts/redis.sh

export P2P_SECRET="${P2P_SECRET:-bench-secret-not-for-production-0123}"
SERVER_BIN="${BENCH_SERVER_BIN:-$CARGO_TARGET_DIR/release/p2p-streams}"
[[ -x "$SERVER_BIN" ]] || cargo build --release --features ssr --bin p2p-streams --locked
cargo build --release --locked --manifest-path bench/loadgen/Cargo.toml
LOADGEN="$CARGO_TARGET_DIR/release/loadgen"
ulimit -n "$(ulimit -Hn)" || true
PORT_A="${BENCH_PORT:-3350}"
PORT_B=$((PORT_A + 1))
SECS="${BENCH_SECS:-10}"
OUT="docs/bench-results/$(date -u +%F)-nodes"
: > "$OUT.jsonl"
LIMITS=(--max-connections-per-ip 1000000 --max-sessions 1000000 --rate-limit-per-sec 1000000
  --rate-limit-burst 1000000)
PIDS=()

stop_nodes() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_nodes; stop_test_redis' EXIT

start_node() { # port [redis url]
  local env=(RUST_LOG=warn)
  [[ -n "${2:-}" ]] && env+=(P2P_REDIS_URL="$2")
  env "${env[@]}" taskset -c 0 "$SERVER_BIN" --addr "127.0.0.1:$1" "${LIMITS[@]}" >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "node on port $1 did not start" >&2
  return 1
}

run() { # label loadgen-args...
  local label=$1; shift
  taskset -c 1 "$LOADGEN" --label "$label" "$@" >> "$OUT.jsonl"
}

start_test_redis
taskset -cp 0 "$REDIS_PID" >/dev/null
REDIS="$P2P_TEST_REDIS_URL"

setups=("one node, memory store" "one node, Redis store" "two nodes, Redis, sessions split across nodes")
for setup in "${setups[@]}"; do
  urls=(--url "ws://127.0.0.1:$PORT_A")
  case "$setup" in
    "one node, memory store") start_node "$PORT_A" ;;
    "one node, Redis store") start_node "$PORT_A" "$REDIS" ;;
    *) start_node "$PORT_A" "$REDIS"; start_node "$PORT_B" "$REDIS"
       urls+=(--url "ws://127.0.0.1:$PORT_B" --cross-node) ;;
  esac
  run "$setup" "${urls[@]}" w2 --pairs 100 --secs "$SECS"
  run "$setup" "${urls[@]}" w3 --sessions 50 --secs "$SECS"
  stop_nodes
  redis-cli -u "$REDIS" flushall >/dev/null
done

{
  echo "# One node vs two nodes on Redis, $(date -u '+%F %H:%M') UTC"
  echo
  echo "- machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); nodes and redis-server on core 0, generator on core 1"
  echo "- server: p2p-streams $(git rev-parse --short HEAD) ($(basename "$(dirname "$SERVER_BIN")")); $(redis-server --version | cut -d' ' -f1-3)"
  echo
  python3 - "$OUT.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("| setup | W2 100 pairs: msgs/s | W2 p50 ms | W2 p99 ms | W3 50 sessions: pairs/s | W3 p50 ms | W3 p99 ms | failures |")
print("|---|---|---|---|---|---|---|---|")
by = {}
for r in rows:
    by.setdefault(r["label"], {})[r["workload"]] = r
for label, w in by.items():
    w2, w3 = w.get("w2", {}), w.get("w3", {})
    l2, l3 = w2.get("latency_us", {}), w3.get("connect_to_last_candidate_us", {})
    fails = w2.get("failures", 0) + w3.get("failures", 0)
    print(f"| {label} | {w2.get('msgs_per_s', 0):.0f} | {l2.get('p50', 0)/1000:.2f} | {l2.get('p99', 0)/1000:.2f} "
          f"| {w3.get('pairs_per_s', 0):.0f} | {l3.get('p50', 0)/1000:.2f} | {l3.get('p99', 0)/1000:.2f} | {fails} |")
PY
} > "$OUT.md"
cat "$OUT.md"
