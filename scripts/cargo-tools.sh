#!/usr/bin/env bash
# Sourced by scripts/setup.sh and scripts/test.sh: the two cargo-installed tools the app's builds need,
# wasm-bindgen-cli (exactly the version the app pins) and cargo-leptos. Compiling them is the longest part of a
# fresh machine's set-up, and only `cargo leptos build` needs them: setup.sh installs them in the foreground,
# test.sh in the background while the Rust tests, which do not use them, compile and run.
WASM_BINDGEN_VERSION="0.2.130"
CARGO_LEPTOS_VERSION="0.3.11"

cargo_tools_log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# Installs what is missing (seconds when both are there).
install_cargo_tools() {
  if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}\$"; then
    cargo_tools_log "cargo: installing wasm-bindgen-cli ${WASM_BINDGEN_VERSION} (a few minutes, once)"
    cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" --force || return 1
  fi
  # `cargo install --locked` fails on rustc < 1.96 because the lock file pins cargo-util-schemas 0.14.2; then we
  # build it from the registry source with 0.14.1 instead.
  if ! cargo leptos --version 2>/dev/null | grep -q "${CARGO_LEPTOS_VERSION}"; then
    cargo_tools_log "cargo: installing cargo-leptos ${CARGO_LEPTOS_VERSION} (about 14 minutes, once)"
    if ! cargo install cargo-leptos --version "${CARGO_LEPTOS_VERSION}" --locked; then
      local src work
      src=$(find "$HOME"/.cargo/registry/src -maxdepth 2 -type d -name "cargo-leptos-${CARGO_LEPTOS_VERSION}" | head -n1)
      work=$(mktemp -d)
      cp -r "$src" "$work/cargo-leptos"
      (cd "$work/cargo-leptos" \
        && cargo update -p cargo-util-schemas --precise 0.14.1 \
        && cargo install --path . --locked) || { rm -rf "$work"; return 1; }
      rm -rf "$work"
    fi
  fi
}

# test.sh: the install in the background, at a lower priority than the tests, its output in a log file.
CARGO_TOOLS_PID=""
CARGO_TOOLS_LOG=""
start_cargo_tools_install() {
  CARGO_TOOLS_LOG="$1"
  mkdir -p "$(dirname "$CARGO_TOOLS_LOG")"
  (
    trap - EXIT
    renice -n 10 "$BASHPID" >/dev/null 2>&1 || true
    install_cargo_tools
  ) >"$CARGO_TOOLS_LOG" 2>&1 &
  CARGO_TOOLS_PID=$!
}

# Waits for it (once); on a failure prints its log and fails.
wait_cargo_tools_install() {
  [[ -n "$CARGO_TOOLS_PID" ]] || return 0
  local pid="$CARGO_TOOLS_PID" started="$SECONDS"
  CARGO_TOOLS_PID=""
  if ! wait "$pid"; then
    cat "$CARGO_TOOLS_LOG"
    cargo_tools_log "installing wasm-bindgen-cli or cargo-leptos failed (output above)"
    return 1
  fi
  if grep -F '[setup]' "$CARGO_TOOLS_LOG"; then
    cargo_tools_log "installed; waited $((SECONDS - started)) s for it here"
  fi
  rm -f "$CARGO_TOOLS_LOG"
}

# On an early exit of test.sh: stop the install (cargo and the compilers it runs) rather than leave it compiling.
stop_cargo_tools_install() {
  [[ -n "$CARGO_TOOLS_PID" ]] || return 0
  cargo_tools_kill_tree "$CARGO_TOOLS_PID"
  CARGO_TOOLS_PID=""
}
cargo_tools_kill_tree() {
  local child
  kill -STOP "$1" 2>/dev/null || true # no new children while we look
  for child in $(pgrep -P "$1"); do cargo_tools_kill_tree "$child"; done
  kill -TERM "$1" 2>/dev/null || true
  kill -CONT "$1" 2>/dev/null || true
}
