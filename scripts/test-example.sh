#!/usr/bin/env bash
# The example app (examples/hello-room, a fully hydrated Leptos app outside the workspace): builds it with
# cargo-leptos into its own target directory ($CARGO_TARGET_DIR/examples, output name hello-room, so the demo's
# debug/p2p-streams and /pkg/p2p-streams.* are never overwritten) and runs its Playwright spec (port 3150; the
# demo's suite uses 3100-3102) with the repository's Playwright install (end2end/node_modules, `npm ci` first:
# scripts/setup.sh --test does it). Called by scripts/test.sh; runnable on its own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
export CARGO_TARGET_DIR="$CARGO_TARGET_DIR/examples"
export LEPTOS_OUTPUT_NAME=hello-room
cd "$ROOT/examples/hello-room"
cargo leptos build --cargo-locked
# The spec and its config import @playwright/test: resolve it from the repository's install.
ln -sfn ../../../end2end/node_modules end2end/node_modules
HELLO_ROOM_BIN="$CARGO_TARGET_DIR/debug/hello-room" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  end2end/node_modules/.bin/playwright test -c end2end/playwright.config.ts
