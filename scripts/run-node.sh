#!/usr/bin/env bash
# Runs one signaling node of a multi-node deployment on http://127.0.0.1:PORT, sharing Redis with the others.
#   scripts/run-node.sh 3001        # node A     (another terminal: scripts/run-node.sh 3002 for node B)
# Redis: P2P_REDIS_URL (default redis://127.0.0.1:6379; start one with
#   redis-server --port 6379 --save '' --appendonly no). Every node must share P2P_SECRET (default: a fixed
# development secret, so tokens and sign-in cookies of one node validate on the others; set your own in
# production). Other settings: see `p2p-streams --help` (P2P_NODE_TTL_MS, P2P_REDIS_PREFIX, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${1:?usage: scripts/run-node.sh PORT}"
source scripts/env.sh
scripts/setup.sh
# Builds the server and the site once (a no-op when up to date; two nodes starting at once take turns).
cargo leptos build --split
export LEPTOS_SITE_ADDR="127.0.0.1:${PORT}"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$ROOT/target/site}"
export P2P_REDIS_URL="${P2P_REDIS_URL:-redis://127.0.0.1:6379}"
export P2P_SECRET="${P2P_SECRET:-dev-only-shared-secret-of-all-nodes}"
exec "$CARGO_TARGET_DIR/debug/p2p-streams"
