# Sourced by run.sh and test.sh: one shared cargo target directory outside the checkout, so a fresh clone
# reuses compiled dependencies (cargo's fingerprints keep it correct). Override with CARGO_TARGET_DIR.
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/p2p-streams/target}"
# The name cargo-leptos compiles into Leptos (`option_env!`): set for every cargo command so plain `cargo test`
# and `cargo leptos build` agree, share compiled crates, and a binary from either serves /pkg/p2p-streams.*.
export LEPTOS_OUTPUT_NAME=p2p-streams
