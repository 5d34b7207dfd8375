#!/usr/bin/env bash
# Sourced by test.sh (and usable by hand): `start_test_redis` starts Debian's redis-server on a free loopback
# port without persistence, exports P2P_TEST_REDIS_URL and stops it when the calling shell exits (added to the
# shell's EXIT trap: scripts/on-exit.sh).
#   source scripts/redis.sh && start_test_redis
# shellcheck source=scripts/on-exit.sh
source "$(dirname "${BASH_SOURCE[0]}")/on-exit.sh"
REDIS_PID=""

stop_test_redis() {
  if [[ -n "$REDIS_PID" ]] && kill -0 "$REDIS_PID" 2>/dev/null; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
  fi
  REDIS_PID=""
}

start_test_redis() {
  local port
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 30000))
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning >/dev/null 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 50); do
      if ! kill -0 "$REDIS_PID" 2>/dev/null; then break; fi # port taken: try another
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
        export P2P_TEST_REDIS_URL="redis://127.0.0.1:${port}"
        on_exit stop_test_redis
        echo "redis-server for the tests on 127.0.0.1:${port} (pid ${REDIS_PID})"
        return 0
      fi
      sleep 0.1
    done
    stop_test_redis
  done
  echo "could not start redis-server on a free loopback port" >&2
  return 1
}
