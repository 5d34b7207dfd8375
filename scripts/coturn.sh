#!/usr/bin/env bash
# Sourced by test.sh (and usable by hand): `start_test_coturn` starts Debian's coturn (`turnserver`) on a free
# loopback UDP/TCP port with TURN REST API credentials (`use-auth-secret` and a random secret made here), exports
#   P2P_TEST_COTURN_URL     turn:127.0.0.1:PORT?transport=udp
#   P2P_TEST_COTURN_SECRET  the shared secret (a server given it as P2P_TURN_SECRET mints credentials coturn takes)
# and stops it (and deletes its temporary directory: log, pid file, user db) when the calling shell exits. The
# EXIT trap is added to (scripts/on-exit.sh), so it composes with redis.sh's when sourced after it.
#   source scripts/coturn.sh && start_test_coturn
# It relays between loopback addresses only (--relay-ip=127.0.0.1 --allow-loopback-peers): for browsers on this
# machine, never reachable from outside it. The log stays in the temporary directory and is printed when the start
# fails; COTURN_KEEP_LOG=1 prints its tail on stop as well.
# shellcheck source=scripts/on-exit.sh
source "$(dirname "${BASH_SOURCE[0]}")/on-exit.sh"
COTURN_PID=""
COTURN_DIR=""
COTURN_REALM="p2p-streams-test"

stop_test_coturn() {
  if [[ -n "$COTURN_PID" ]] && kill -0 "$COTURN_PID" 2>/dev/null; then
    kill "$COTURN_PID" 2>/dev/null || true
    wait "$COTURN_PID" 2>/dev/null || true
  fi
  if [[ -n "$COTURN_DIR" && -d "$COTURN_DIR" ]]; then
    if [[ -n "${COTURN_KEEP_LOG:-}" ]]; then tail -n 30 "$COTURN_DIR/turnserver.log" >&2 || true; fi
    rm -rf "$COTURN_DIR"
  fi
  COTURN_PID=""
  COTURN_DIR=""
}

# True when nothing listens on 127.0.0.1:$1 (or any address) over UDP or TCP. coturn binds with SO_REUSEPORT, so
# a second turnserver on a taken port starts "successfully" and shares the packets: look before starting.
_coturn_port_free() {
  [[ -z "$(ss -Hlun "sport = :$1")$(ss -Hltn "sport = :$1")" ]]
}

# True when the only UDP listener on the port belongs to our turnserver.
_coturn_port_ours() {
  local owners
  owners="$(ss -Hlunp "sport = :$1")"
  [[ -n "$owners" ]] && ! grep -vq "pid=${COTURN_PID}," <<<"$owners"
}

start_test_coturn() {
  local port secret
  command -v turnserver >/dev/null || { echo "turnserver not found: run scripts/setup.sh --test" >&2; return 1; }
  secret="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
  COTURN_DIR="$(mktemp -d -t p2p-coturn.XXXXXX)"
  on_exit stop_test_coturn
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 20000)) # below coturn's relay range (49152-65535)
    _coturn_port_free "$port" || continue
    # -n: no config file; no TLS/DTLS/CLI/RFC 5780 listeners (nothing but UDP+TCP on one port); pid file, log and
    # SQLite user db (opened even when unused) in our temporary directory, not in /var.
    turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$port" \
      --use-auth-secret --static-auth-secret="$secret" --realm="$COTURN_REALM" \
      --allow-loopback-peers --no-tls --no-dtls --no-cli --no-rfc5780 \
      --pidfile="$COTURN_DIR/turnserver.pid" --userdb="$COTURN_DIR/turndb" \
      --log-file=stdout >"$COTURN_DIR/turnserver.log" 2>&1 &
    COTURN_PID=$!
    for _ in $(seq 1 50); do
      kill -0 "$COTURN_PID" 2>/dev/null || break
      # Ready when a STUN Binding request is answered (the client retries for ever otherwise: bounded).
      if timeout 1 turnutils_stunclient -p "$port" 127.0.0.1 >/dev/null 2>&1; then
        if _coturn_port_ours "$port"; then
          export P2P_TEST_COTURN_URL="turn:127.0.0.1:${port}?transport=udp"
          export P2P_TEST_COTURN_SECRET="$secret"
          echo "coturn for the tests on 127.0.0.1:${port} (pid ${COTURN_PID})"
          return 0
        fi
        break # somebody else took the port at the same moment: try another
      fi
      sleep 0.1
    done
    if kill -0 "$COTURN_PID" 2>/dev/null; then kill "$COTURN_PID"; fi
    wait "$COTURN_PID" 2>/dev/null || true
  done
  echo "could not start turnserver on a free loopback port; its last log:" >&2
  tail -n 20 "$COTURN_DIR/turnserver.log" >&2 || true
  stop_test_coturn
  return 1
}

# Proves the running coturn relays with TURN REST API credentials computed here, independently of our server
# (username "{expiry}:{name}", credential base64(HMAC-SHA1(secret, username)), by openssl): turnutils_uclient
# allocates a relay and sends 5 messages to a turnutils_peer echo on loopback through it, and every one must come
# back; the same username with a forged credential must be refused.
check_test_coturn() {
  local port="${P2P_TEST_COTURN_URL#turn:127.0.0.1:}" peer_port user cred out peer_pid ok=0
  port="${port%%\?*}"
  user="$(($(date +%s) + 600)):coturn-check"
  cred="$(printf %s "$user" | openssl dgst -sha1 -hmac "$P2P_TEST_COTURN_SECRET" -binary | base64)"
  for _ in $(seq 1 20); do
    peer_port=$((20000 + RANDOM % 20000))
    _coturn_port_free "$peer_port" && break
  done
  turnutils_peer -L 127.0.0.1 -p "$peer_port" >/dev/null 2>&1 &
  peer_pid=$!
  out="$(timeout 20 turnutils_uclient -c -n 5 -m 1 -X -p "$port" -u "$user" -w "$cred" \
    -e 127.0.0.1 -r "$peer_port" 127.0.0.1 2>&1 || true)"
  if grep -q "tot_send_msgs=5, tot_recv_msgs=5\$" <<<"$out"; then
    out="$(timeout 20 turnutils_uclient -c -n 1 -m 1 -X -p "$port" -u "$user" -w "forged$cred" \
      -e 127.0.0.1 -r "$peer_port" 127.0.0.1 2>&1 || true)"
    if grep -q "Cannot complete Allocation" <<<"$out"; then
      ok=1
    else
      echo "coturn check: a forged credential was not refused" >&2
    fi
  else
    echo "coturn check: 5 messages through the relay did not all come back:" >&2
    tail -n 12 <<<"$out" >&2
  fi
  kill "$peer_pid" 2>/dev/null || true
  wait "$peer_pid" 2>/dev/null || true
  ((ok)) && echo "coturn check: REST API credentials accepted, 5/5 messages relayed, forged credential refused"
}
