#!/usr/bin/env bash
# Sourced by scripts/test.sh: one job in the background, at nice 10 so the tests in the foreground keep their CPU,
# its output in a temporary file (printed in full on a failure, its summary lines on success). test.sh uses it for
# what only the later steps need: installing the cargo tools (scripts/cargo-tools.sh) and the production build.
#   start_background "what" CMD...   wait_background   stop_background (on an early exit: the job's whole tree)
BACKGROUND_PID=""
BACKGROUND_LOG=""
BACKGROUND_WHAT=""

background_log() { printf '\033[1;34m[background]\033[0m %s\n' "$*"; }

start_background() {
  BACKGROUND_WHAT="$1"
  shift
  BACKGROUND_LOG="$(mktemp -t p2p-streams-background.XXXXXX)"
  (
    trap - EXIT
    renice -n 10 "$BASHPID" >/dev/null 2>&1 || true
    "$@"
  ) >"$BACKGROUND_LOG" 2>&1 &
  BACKGROUND_PID=$!
  background_log "started: $BACKGROUND_WHAT"
}

# Waits for the job (once); on a failure prints its log and fails.
wait_background() {
  [[ -n "$BACKGROUND_PID" ]] || return 0
  local pid="$BACKGROUND_PID" started="$SECONDS"
  BACKGROUND_PID=""
  if ! wait "$pid"; then
    cat "$BACKGROUND_LOG"
    background_log "failed: $BACKGROUND_WHAT (output above)"
    return 1
  fi
  # Its own progress lines and cargo's summaries, without the colour codes.
  grep -E '\[(setup|release)\]|Finished' "$BACKGROUND_LOG" | sed 's/\x1b\[[0-9;]*m//g' || true
  background_log "done: $BACKGROUND_WHAT (waited $((SECONDS - started)) s for it here)"
  rm -f "$BACKGROUND_LOG"
}

stop_background() {
  [[ -n "$BACKGROUND_PID" ]] || return 0
  background_kill_tree "$BACKGROUND_PID"
  BACKGROUND_PID=""
}
background_kill_tree() {
  local child
  kill -STOP "$1" 2>/dev/null || true # no new children while we look
  for child in $(pgrep -P "$1"); do background_kill_tree "$child"; done
  kill -TERM "$1" 2>/dev/null || true
  kill -CONT "$1" 2>/dev/null || true
}
