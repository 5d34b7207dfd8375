#!/usr/bin/env bash
# The two cargo-installed tools the app's builds need, wasm-bindgen-cli (exactly the version the app pins) and
# cargo-leptos. Compiling them is the longest part of a fresh machine's set-up, and only `cargo leptos build`
# needs them: scripts/setup.sh sources this and installs them in the foreground; scripts/test.sh runs this file
# in the background (scripts/background.sh) while the Rust tests, which do not use them, compile and run.
WASM_BINDGEN_VERSION="0.2.130"
CARGO_LEPTOS_VERSION="0.3.11"

cargo_tools_log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# cargo-leptos is compiled without optimizations (its own release profile asks for full LTO) except for itself
# (its compression loop instantiates the encoders' generics) and the crates that do its work at build time:
# brotli and gzip for `--precompress`, the wasm parser and encoder of `--split`. Measured here: about 6 minutes
# instead of 15 to install, and the same build times for the app (docs/bench-results/2026-12-08-cargo-leptos.md).
CARGO_LEPTOS_PROFILE=(--config profile.release.opt-level=0 --config profile.release.lto=false
  --config profile.release.codegen-units=16)
for hot in cargo-leptos brotli alloc-no-stdlib alloc-stdlib miniz_oxide flate2 libflate libflate_lz77 crc32fast \
  adler2 wasmparser wasm-encoder wasm_split_cli_support id-arena; do
  CARGO_LEPTOS_PROFILE+=(--config "profile.release.package.${hot}.opt-level=3")
done

# Installs what is missing (seconds when both are there).
install_cargo_tools() {
  if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}\$"; then
    cargo_tools_log "cargo: installing wasm-bindgen-cli ${WASM_BINDGEN_VERSION} (a few minutes, once)"
    cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" --force || return 1
  fi
  # `cargo install --locked` fails on rustc < 1.96 because the lock file pins cargo-util-schemas 0.14.2; then we
  # build it from the registry source with 0.14.1 instead.
  if ! cargo leptos --version 2>/dev/null | grep -q "${CARGO_LEPTOS_VERSION}"; then
    cargo_tools_log "cargo: installing cargo-leptos ${CARGO_LEPTOS_VERSION} (about 6 minutes, once)"
    if ! cargo install cargo-leptos --version "${CARGO_LEPTOS_VERSION}" --locked "${CARGO_LEPTOS_PROFILE[@]}"; then
      local src work
      src=$(find "$HOME"/.cargo/registry/src -maxdepth 2 -type d -name "cargo-leptos-${CARGO_LEPTOS_VERSION}" | head -n1)
      work=$(mktemp -d)
      cp -r "$src" "$work/cargo-leptos"
      (cd "$work/cargo-leptos" \
        && cargo update -p cargo-util-schemas --precise 0.14.1 \
        && cargo install --path . --locked "${CARGO_LEPTOS_PROFILE[@]}") || { rm -rf "$work"; return 1; }
      rm -rf "$work"
    fi
  fi
}

# Run directly (test.sh does, in the background): install what is missing.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  export PATH="$HOME/.cargo/bin:$PATH"
  install_cargo_tools
fi
