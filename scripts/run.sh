#!/usr/bin/env bash
# Installs whatever is missing, then serves the app with live reload on http://127.0.0.1:3000
# (in-memory session store, no external services).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
scripts/setup.sh
# --split: the lazy islands (the lobby's room list, /admin, the whiteboard) need their wasm chunks; without it
# they cannot load.
exec cargo leptos watch --split
