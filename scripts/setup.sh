#!/usr/bin/env bash
# Idempotent set-up for p2p-streams: installs only what is missing.
#   scripts/setup.sh          toolchain for building and running the app, and wasm-opt for its production build
#   scripts/setup.sh --test   also Chromium, redis-server (multi-node tests), the Playwright dependencies, and
#                             coturn, nftables, iproute2, ping and nc (NAT traversal tests; coturn's system
#                             service is disabled and stopped)
#   --no-cargo-tools          without wasm-bindgen-cli and cargo-leptos (scripts/test.sh installs them itself, in
#                             the background while the Rust tests run: scripts/cargo-tools.sh)
# Every step checks first and skips what is already present, so running it twice is cheap.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WITH_TEST=0
CARGO_TOOLS=1
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    # test.sh installs wasm-bindgen-cli and cargo-leptos itself, in the background (scripts/cargo-tools.sh).
    --no-cargo-tools) CARGO_TOOLS=0 ;;
    *) echo "usage: scripts/setup.sh [--test] [--no-cargo-tools]" >&2; exit 2 ;;
  esac
done
# shellcheck source=scripts/cargo-tools.sh
source "$ROOT/scripts/cargo-tools.sh"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

as_root() {
  if [[ "$(id -u)" == "0" ]]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "apt: installing ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
  fi
}

# Debian's coturn package enables (and, where systemd runs and no policy-rc.d forbids it, starts) a system
# turnserver on 3478 with /etc/turnserver.conf. Disable and stop it: the tests start their own on free ports, and an
# open TURN service is not something a set-up script should leave behind. Does nothing when it is already off.
quiet_system_coturn() {
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet coturn.service 2>/dev/null; then
    log "coturn: disabling the system service (the tests start their own turnserver)"
    as_root systemctl disable --quiet coturn.service # works without a running systemd too (links only)
  fi
  if [[ -d /run/systemd/system ]]; then
    if systemctl is-active --quiet coturn.service 2>/dev/null; then
      log "coturn: stopping the system service"
      as_root systemctl stop coturn.service
    fi
  elif [[ -x /etc/init.d/coturn ]]; then
    # Without systemd the service is the daemon of the init script's pid file, and only that one is stopped.
    # Not `/etc/init.d/coturn status` / `stop`: without that pid file they find and kill EVERY turnserver on the
    # machine (pidof, start-stop-daemon --exec), including the tests' own (scripts/coturn.sh), which this script
    # runs again under (scripts/bench.sh), and other checkouts' test runs.
    local pidfile=/var/run/turnserver.pid pid
    if [[ -r "$pidfile" ]] && read -r pid <"$pidfile" && [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      log "coturn: stopping the system service"
      as_root start-stop-daemon --stop --quiet --oknodo --retry=TERM/30/KILL/5 --pidfile "$pidfile" \
        --exec /usr/bin/turnserver
    fi
  fi
}

# The downloads (apt, npm: network-bound) run in the background while the cargo installs (CPU-bound) compile: on a
# fresh machine that hides them behind the compiles. Each background part is sequential inside (one dpkg at a
# time); the script waits for all of them and fails if any failed.
downloads() {
  # 4. wasm-opt for release builds (cargo-leptos runs it on the release wasm, and tries to download one when none
  #    is on PATH, which fails offline). Pinned npm binaryen 132 in tools/ (Debian's binaryen 108 silently produces
  #    a wasm that fails in the browser); scripts/env.sh puts tools/node_modules/.bin first on PATH.
  if [[ ! -x "$ROOT/tools/node_modules/.bin/wasm-opt" ]]; then
    log "npm: installing wasm-opt (binaryen 132) into tools/ for release builds"
    (cd "$ROOT/tools" && npm ci --no-audit --no-fund --silent)
  fi
  if ((WITH_TEST)); then
    # 5. Debian's Chromium (never a downloaded browser) and Redis for the multi-node tests.
    command -v chromium >/dev/null 2>&1 || apt_install chromium
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    # 6. Playwright from npm, without its browser download.
    if [[ ! -d "$ROOT/end2end/node_modules/@playwright/test" ]]; then
      log "npm: installing end2end dependencies"
      (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    fi
    # 7. PeerJS server, pinned, for the signaling benchmark's smoke run (scripts/bench.sh --smoke).
    if [[ ! -f "$ROOT/bench/peerjs/node_modules/peer/package.json" ]]; then
      log "npm: installing PeerJS server for the benchmark smoke"
      (cd "$ROOT/bench/peerjs" && npm ci --no-audit --no-fund)
    fi
    # 8. NAT traversal tests: Debian's coturn (scripts/coturn.sh starts one on a free loopback port for
    #    turn-coturn.spec.ts; openssl computes the credential of its self-check), nftables and iproute2
    #    (scripts/nat-lab.sh: namespaces, veths, NAT), ping and OpenBSD nc (the lab's reachability check).
    #    apt_install skips installed packages; the coturn package's own service is never wanted.
    apt_install coturn nftables iproute2 openssl iputils-ping netcat-openbsd
    quiet_system_coturn
  fi
}
downloads &
DOWNLOADS=$!
# A failing cargo install ends the script; the downloads finish first (an apt stopped halfway leaves dpkg locked).
trap 'wait "$DOWNLOADS" 2>/dev/null || true' EXIT
# Waits for the downloads (once) and fails the set-up if they failed.
DOWNLOADS_CHECKED=0
check_downloads() {
  ((DOWNLOADS_CHECKED)) && return 0
  DOWNLOADS_CHECKED=1
  if ! wait "$DOWNLOADS"; then
    log "the apt or npm part of the set-up failed (its output is above)"
    exit 1
  fi
}

# 1. wasm target
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2-3. wasm-bindgen-cli and cargo-leptos (scripts/cargo-tools.sh).
if ((CARGO_TOOLS)); then
  # Downloads that have already failed end the set-up now rather than after a long compile.
  kill -0 "$DOWNLOADS" 2>/dev/null || check_downloads
  install_cargo_tools
fi

check_downloads
log "ready"
