# Sourced by run.sh and test.sh: one shared cargo target directory outside the checkout, so a fresh clone
# reuses compiled dependencies (cargo's fingerprints keep it correct). Override with CARGO_TARGET_DIR.
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/p2p-streams/target}"
