#!/usr/bin/env bash
# The example app (examples/hello-room, a fully hydrated Leptos app outside the workspace): builds it with
# cargo-leptos in the shared target directory, reusing the dependencies the workspace's tests compiled (its
# manifest keeps cargo-leptos from adding RUSTFLAGS), under its own output name hello-room (so the demo's
# debug/p2p-streams and /pkg/p2p-streams.* are never overwritten), and runs its Playwright spec (port 3150; the
# demo's suite uses 3100-3102) with the repository's Playwright install (end2end/node_modules, `npm ci` first:
# scripts/setup.sh --test does it); then the same for an app the generators made (below). Called by
# scripts/test.sh; runnable on its own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"
export LEPTOS_OUTPUT_NAME=hello-room
cd "$ROOT/examples/hello-room"
cargo leptos build --cargo-locked
# The spec and its config import @playwright/test: resolve it from the repository's install.
ln -sfn ../../../end2end/node_modules end2end/node_modules
HELLO_ROOM_BIN="$CARGO_TARGET_DIR/debug/hello-room" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  end2end/node_modules/.bin/playwright test -c end2end/playwright.config.ts

# The generators on a copy of the example turned back into an app without p2p-streams (crates/cargo-p2p-streams/
# tests/generate.rs: `cargo p2p-streams install`, then `room team_notes`, then `cargo leptos build`), kept in
# target/generated-app (two levels below the repository, like the example, so its Playwright config's relative
# imports hold), then the generated room's own Playwright spec against the generated app's server.
GENERATED="$ROOT/target/generated-app"
# The test's own build is the repository's (output name p2p-streams); it builds the generated app as hello-room.
LEPTOS_OUTPUT_NAME=p2p-streams P2P_GENERATED_APP="$GENERATED" cargo test --manifest-path "$ROOT/Cargo.toml" -p cargo-p2p-streams --test generate --locked
cd "$GENERATED"
ln -sfn ../../../end2end/node_modules end2end/node_modules
HELLO_ROOM_BIN="$CARGO_TARGET_DIR/debug/hello-room" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  end2end/node_modules/.bin/playwright test -c end2end/playwright.config.ts team_notes.spec.ts
