# Sourced by the scripts, and by you before a cargo or cargo-leptos command (`source scripts/env.sh`).
# One shared cargo target directory outside the checkout, so a fresh clone reuses compiled dependencies (cargo's
# fingerprints keep it correct). Override with CARGO_TARGET_DIR.
# tools/node_modules/.bin holds wasm-opt (npm binaryen 132, installed by scripts/setup.sh): cargo-leptos runs it
# for `cargo leptos build --release`, and tries to download one (failing offline) when none is on PATH.
export PATH="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/p2p-streams/target}"
# The name cargo-leptos compiles into Leptos (`option_env!`): set for every cargo command so plain `cargo test`
# and `cargo leptos build` agree, share compiled crates, and a binary from either serves /pkg/p2p-streams.*.
export LEPTOS_OUTPUT_NAME=p2p-streams
