#!/usr/bin/env bash
# Installs whatever is missing, then runs every test: Rust unit and integration tests (real server on
# 127.0.0.1:0, real WebSockets; multi-node ones on a redis-server started here) and the Playwright suite (real
# Chromium, real WebRTC; its TURN specs use a coturn started here, its NAT spec a network-namespace lab built here).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
scripts/setup.sh --test --no-cargo-tools
# In the background, at a lower priority, while the steps before it run (none of them uses either): wasm-bindgen-cli
# and cargo-leptos when missing (a fresh machine: about 15 minutes of compiling), then the README's production
# build (it needs the set-up's wasm-opt), which the benchmark smokes and the Playwright suite run. The Rust steps
# often compile one crate at a time, which leaves the other core to the build.
# shellcheck source=scripts/background.sh
source scripts/background.sh
source scripts/on-exit.sh
start_background "wasm-bindgen-cli and cargo-leptos if missing, then the production build" \
  bash -c 'scripts/cargo-tools.sh && scripts/release-smoke.sh build'
on_exit stop_background
# One Redis for the multi-node Rust tests and the two-node Playwright test, and one coturn (TURN REST API secret,
# free loopback port) for turn-coturn.spec.ts, both stopped on exit (each adds to the EXIT trap: scripts/on-exit.sh).
source scripts/redis.sh
start_test_redis
source scripts/coturn.sh
start_test_coturn
check_test_coturn

# Each step's header says how long the run has taken so far (SECONDS counts from the start of this script).
step() { printf '\n\033[1;34m== [%dm%02ds] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
step "Rust tests (server side)"
# The soak test (tests/soak.rs) holds about 2,600 sockets in each of two processes: lift the soft limit on
# open files to the hard limit when it is lower than that needs (allowed without privileges).
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 8192 ]; then ulimit -n "$(ulimit -Hn)" || true; fi
# Both packages of the workspace: the toolkit (crates/p2p-streams: unit tests, doctests, the embedding guide)
# and the demo (unit tests, and the integration tests in tests/). Not here: the generator's end-to-end test
# (crates/cargo-p2p-streams/tests/generate.rs), which needs cargo-leptos; scripts/test-example.sh runs it.
cargo test --workspace --features ssr --locked -- \
  --skip installs_generates_a_room_and_builds_both_sides --skip in_an_island_app_the_room_is_an_island
step "Room scaffolding generator (generates a room in a temporary copy and builds it for both sides)"
cargo test --manifest-path xtask/Cargo.toml --locked
step "Browser-side code compiles (wasm32, feature hydrate)"
cargo check --workspace --features hydrate --lib --target wasm32-unknown-unknown --locked
step "The toolkit on its own, without the demo's Leptos islands feature: its tests and doctests, and the browser side"
cargo test -p p2p-streams --features ssr --locked
cargo check -p p2p-streams --features hydrate --target wasm32-unknown-unknown --locked
step "Library package: publish dry run + docs"
# What crates.io would get: `cargo publish --dry-run` packages the crate (only the files it ships, its lock file
# taken from the workspace's, so --locked holds), builds the package on its own and runs every check of a real
# upload but the upload (it does all `cargo package` does, which ran here before it and built the package a
# second time); then the API docs of both sides, where any rustdoc warning (broken intra-doc link, bare URL...)
# fails. --allow-dirty: the checkout under test may have uncommitted changes, and they are what is tested.
# --features ssr: the packaged crate is built with its server side, which includes docs/embedding.md (a file
# missing from the package fails here). Both reuse the shared target directory.
# The packaged crate is built as a workspace of its own, which does not see Cargo.toml's
# [profile.dev.package.*] settings: passed on here (read from Cargo.toml), its build reuses the dependencies the
# toolkit's tests built above instead of building about 300 of them again with debug info (2 min 42 s -> 1 min
# 1 s from an empty target directory; the rest is tokio and its dependents, which the tests build with
# tokio's test-util).
mapfile -t workspace_profile < <(awk '/^\[/ {pkg=""}
  /^\[profile\.dev\.package\./ {pkg=$0; sub(/^\[profile\.dev\.package\./, "", pkg); sub(/\]$/, "", pkg); next}
  pkg != "" && /^[a-z-]+ *=/ {line=$0; gsub(/ /, "", line); print "--config"; print "profile.dev.package." pkg "." line}' Cargo.toml)
cargo publish -p p2p-streams --features ssr --dry-run --locked --allow-dirty "${workspace_profile[@]}"
RUSTDOCFLAGS="-D warnings" cargo doc -p p2p-streams --no-deps --features ssr --locked
RUSTDOCFLAGS="-D warnings" cargo doc -p p2p-streams --no-deps --features hydrate --target wasm32-unknown-unknown --locked
step "Production build as the README gives it (release, hashed names, precompressed, into target/site-release), served once"
# The lobby, a room page, its wasm (raw and brotli) and JS from the release binary on a free port, then SIGTERM.
# Built in the background (above; `scripts/release-smoke.sh build`: exactly the README's command), served here.
wait_background
scripts/release-smoke.sh serve
# Every later step runs this build: the benchmark smokes' server and the Playwright suite test what is deployed,
# and no debug build of the app is made (about 5 minutes on a fresh target directory). hashed-site.spec.ts wants
# the hash file inside the site it serves: a copy of the release site with it (a few MB).
RELEASE_BIN="$CARGO_TARGET_DIR/release/p2p-streams"
rm -rf target/site-hashed
cp -r target/site-release target/site-hashed
cp "$CARGO_TARGET_DIR/release/hash.txt" target/site-hashed/hash.txt
step "Signaling benchmark smoke: W1-W3 for a second each against our release server and PeerJS server"
BENCH_SERVER_BIN="$RELEASE_BIN" LEPTOS_SITE_ROOT="$ROOT/target/site-release" LEPTOS_HASH_FILES=true scripts/bench.sh --smoke
step "TURN benchmark smoke: a few MB relayed by the embedded server and by coturn, natively and in Chromium"
BENCH_SERVER_BIN="$RELEASE_BIN" BENCH_SERVER_LABEL="p2p-streams (release)" scripts/bench-turn.sh --smoke
step "NAT lab for nat.spec.ts (network namespaces with two NATed homes; deleted on exit)"
if [[ "$(id -u)" == 0 ]]; then
  lab_env="$(scripts/nat-lab.sh up)"
  set -a
  eval "$lab_env"
  set +a
  stop_nat_lab() { "$ROOT/scripts/nat-lab.sh" down "$P2P_NAT_LAB"; }
  on_exit stop_nat_lab
  scripts/nat-lab.sh check "$P2P_NAT_LAB"
else
  echo "not root: no network namespaces, so nat.spec.ts is skipped"
fi
step "Playwright end-to-end tests (Chromium)"
cd end2end
# On a failure the test coturn's log tail is printed when it stops (scripts/coturn.sh), for the TURN specs.
# Against the release build (server-paths.ts: P2P_SERVER_BIN, LEPTOS_SITE_ROOT; the server finds the hash file
# beside its binary); nodes the specs start themselves inherit the same settings.
P2P_SERVER_BIN="$RELEASE_BIN" LEPTOS_SITE_ROOT="$ROOT/target/site-release" LEPTOS_HASH_FILES=true \
  P2P_HASHED_SITE_ROOT="$ROOT/target/site-hashed" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test \
  || { export COTURN_KEEP_LOG=1; exit 1; }
step "Example app (examples/hello-room: fully hydrated, built with cargo-leptos, its own Playwright spec on port 3150)"
"$ROOT/scripts/test-example.sh"
step "All tests passed"
