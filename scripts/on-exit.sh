#!/usr/bin/env bash
# Sourced by scripts that start something the calling shell must stop (coturn.sh, test.sh for the NAT lab):
# `on_exit CMD` adds CMD to the shell's EXIT trap instead of replacing it, so several clean-ups run one after the
# other (the newest first). A plain `trap ... EXIT` set later replaces them all: set those first (redis.sh does).
#   source scripts/on-exit.sh && on_exit stop_something
on_exit() {
  local existing
  # `trap -p EXIT` prints `trap -- 'CMD' EXIT` (nothing when none is set); CMD is our own simple commands.
  existing="$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT\$/\1/")"
  # shellcheck disable=SC2064 # expand now: the trap holds the commands themselves
  trap "$1${existing:+; $existing}" EXIT
}
