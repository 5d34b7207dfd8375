#!/usr/bin/env bash
# A NAT lab on one machine (root; iproute2 and nftables): two "homes", each behind its own NAT router, and a
# "public" segment holding the server's address. Used by end2end/tests/nat.spec.ts; docs/nat-traversal.md has the
# picture and what it proves.
#
#   scripts/nat-lab.sh up [ID]           builds lab ID (default: a new random one) and prints its KEY=VALUE lines
#   scripts/nat-lab.sh env [ID]          prints them again
#   scripts/nat-lab.sh check [ID]        proves the topology: each home reaches the server, and neither the other
#                                        home nor the other router's WAN address (ping, nc over UDP and TCP)
#   scripts/nat-lab.sh exec [ID] NS CMD  runs CMD in namespace NS (pub, rA, rB, hA or hB) of lab ID
#   scripts/nat-lab.sh down [ID]         stops every process left in lab ID's namespaces and deletes them and the
#                                        lab's directory; idempotent (nothing there: nothing to do)
# ID defaults to $P2P_NAT_LAB for everything but `up`. Printed lines (also in $dir/env, for `set -a; source`):
#   P2P_NAT_LAB=ID  P2P_NAT_NS_{PUB,RA,RB,HA,HB}=namespace  P2P_NAT_SERVER_IP=203.0.113.10
#   P2P_NAT_PUBLIC_NET=203.0.113.0/24  P2P_NAT_CHROMIUM_{HA,HB}=wrapper that runs Chromium in that home
#
#            pub: bridge br0, 203.0.113.10/24 (server, TURN relay addresses)
#             /                                   \
#   rA: wan 203.0.113.2, lan 10.0.1.1    rB: wan 203.0.113.3, lan 10.0.2.1    (ip_forward; nft masquerade random
#             |                                   |                            on wan; forward to any wan address
#   hA: eth0 10.0.1.2, default via .1    hB: eth0 10.0.2.2, default via .1     but the server's dropped)
#
# Everything is created inside namespaces named p2pnat-ID-* (interfaces are made in their namespace directly, so
# nothing is ever added to the host's own network, and two labs never collide); IPv6 is off in all of them.
set -euo pipefail

SERVER_IP=203.0.113.10
PUBLIC_NET=203.0.113.0/24
NS_ROLES=(pub rA rB hA hB)
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
UP_ID=""

log() { printf '[nat-lab] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

ns_of() { printf 'p2pnat-%s-%s' "$1" "$2"; }
lab_dir() { printf '%s/p2p-nat-lab-%s' "${TMPDIR:-/tmp}" "$1"; }
valid_id() { [[ "$1" =~ ^[a-z0-9]{1,12}$ ]] || die "bad lab id '$1' (1-12 of a-z, 0-9)"; }

# `in_ns ID ROLE CMD...`: CMD inside the namespace.
in_ns() { local id=$1 role=$2; shift 2; ip netns exec "$(ns_of "$id" "$role")" "$@"; }

env_lines() {
  local id=$1 dir
  dir="$(lab_dir "$id")"
  cat <<EOF
P2P_NAT_LAB=$id
P2P_NAT_NS_PUB=$(ns_of "$id" pub)
P2P_NAT_NS_RA=$(ns_of "$id" rA)
P2P_NAT_NS_RB=$(ns_of "$id" rB)
P2P_NAT_NS_HA=$(ns_of "$id" hA)
P2P_NAT_NS_HB=$(ns_of "$id" hB)
P2P_NAT_SERVER_IP=$SERVER_IP
P2P_NAT_PUBLIC_NET=$PUBLIC_NET
P2P_NAT_CHROMIUM_HA=$dir/chromium-hA
P2P_NAT_CHROMIUM_HB=$dir/chromium-hB
EOF
}

# One router and its home: `router ID SIDE N` with SIDE A|B and N the WAN host number (2, 3) and home subnet (1, 2).
router() {
  local id=$1 side=$2 n=$3 net=$4 pub r h
  pub="$(ns_of "$id" pub)" r="$(ns_of "$id" "r$side")" h="$(ns_of "$id" "h$side")"
  # WAN: "wan" in the router, its peer "r$side" on the public bridge.
  ip -n "$r" link add wan type veth peer name "r$side" netns "$pub"
  ip -n "$pub" link set "r$side" master br0 up
  ip -n "$r" addr add "203.0.113.$n/24" dev wan
  ip -n "$r" link set wan up
  # LAN: "lan" in the router, its peer "eth0" in the home.
  ip -n "$r" link add lan type veth peer name eth0 netns "$h"
  ip -n "$r" addr add "10.0.$net.1/24" dev lan
  ip -n "$r" link set lan up
  ip -n "$h" addr add "10.0.$net.2/24" dev eth0
  ip -n "$h" link set eth0 up
  ip -n "$h" route add default via "10.0.$net.1"
  in_ns "$id" "r$side" sysctl -qw net.ipv4.ip_forward=1
  # NAT with a random port per mapping, and no way out but to the server (a chain named `fwd` is a syntax error).
  in_ns "$id" "r$side" nft -f - <<EOF
table ip nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" masquerade random
  }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy accept;
    oifname "wan" ip daddr != $SERVER_IP drop
  }
}
EOF
}

cmd_up() {
  local id=${1:-} dir role ns
  [[ "$(id -u)" == 0 ]] || die "needs root (network namespaces, nftables)"
  command -v nft >/dev/null || die "nft not found: scripts/setup.sh --test installs nftables"
  if [[ -z "$id" ]]; then
    while :; do
      id="$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
      ip netns list | grep -q "^$(ns_of "$id" pub)\b" || break
    done
  fi
  valid_id "$id"
  ! ip netns list | grep -q "^p2pnat-$id-" || die "lab $id exists already (scripts/nat-lab.sh down $id)"
  # A failure half-way (set -e) leaves nothing behind.
  UP_ID=$id
  trap 'if [[ -n "$UP_ID" ]]; then log "up failed: removing lab $UP_ID"; cmd_down "$UP_ID"; fi' EXIT
  dir="$(lab_dir "$id")"
  mkdir -p "$dir"
  for role in "${NS_ROLES[@]}"; do
    ns="$(ns_of "$id" "$role")"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ns="$(ns_of "$id" pub)"
  ip -n "$ns" link add br0 type bridge
  ip -n "$ns" addr add "$SERVER_IP/24" dev br0
  ip -n "$ns" link set br0 up
  router "$id" A 2 1
  router "$id" B 3 2
  for role in hA hB; do
    printf '#!/bin/sh\n# Chromium in the %s namespace of NAT lab %s (scripts/nat-lab.sh).\nexec ip netns exec %s %s "$@"\n' \
      "$role" "$id" "$(ns_of "$id" "$role")" "$CHROMIUM" >"$dir/chromium-$role"
    chmod +x "$dir/chromium-$role"
  done
  env_lines "$id" >"$dir/env"
  UP_ID=""
  log "lab $id up (namespaces p2pnat-$id-{pub,rA,rB,hA,hB})"
  env_lines "$id"
}

cmd_down() {
  local id=$1 ns pids
  valid_id "$id"
  for ns in $(ip netns list | awk '{print $1}' | grep "^p2pnat-$id-" || true); do
    # Whatever still runs in there (a server, a browser of an aborted test) would keep the namespace alive.
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
    if ((${#pids[@]})); then
      log "stopping processes left in $ns: ${pids[*]}"
      kill "${pids[@]}" 2>/dev/null || true
      for _ in $(seq 1 30); do
        [[ -z "$(ip netns pids "$ns" 2>/dev/null || true)" ]] && break
        sleep 0.1
      done
      mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
      ((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$(lab_dir "$id")"
}

# `probe ID FROM TO ADDR yes|no`: ping, then a UDP datagram and a TCP connection to an nc listening at ADDR.
probe() {
  local id=$1 from=$2 to=$3 addr=$4 want=$5 got port out
  port=$((20000 + RANDOM % 20000))
  got=no
  in_ns "$id" "$from" ping -c 1 -W 1 "$addr" >/dev/null 2>&1 && got=yes
  [[ "$got" == "$want" ]] || { log "FAIL ping $from -> $addr: reachable=$got, want $want"; return 1; }
  # UDP: one datagram, received (or not) by nc in the target namespace.
  out="$(mktemp)"
  # Listeners run as `ip netns exec` itself (no function or subshell between), so $! is the process to stop.
  ip netns exec "$(ns_of "$id" "$to")" timeout 2 nc -u -l -W 1 "$addr" "$port" >"$out" 2>/dev/null &
  local listener=$!
  sleep 0.2
  echo "udp-probe" | in_ns "$id" "$from" nc -u -w 1 "$addr" "$port" >/dev/null 2>&1 || true
  wait "$listener" 2>/dev/null || true
  got=no; grep -q udp-probe "$out" && got=yes
  rm -f "$out"
  [[ "$got" == "$want" ]] || { log "FAIL udp $from -> $addr:$port: received=$got, want $want"; return 1; }
  # TCP: a connection to nc listening in the target namespace.
  ip netns exec "$(ns_of "$id" "$to")" timeout 2 nc -l "$addr" "$port" >/dev/null 2>&1 &
  listener=$!
  sleep 0.2
  got=no
  in_ns "$id" "$from" nc -z -w 1 "$addr" "$port" >/dev/null 2>&1 && got=yes
  kill "$listener" 2>/dev/null || true
  wait "$listener" 2>/dev/null || true
  [[ "$got" == "$want" ]] || { log "FAIL tcp $from -> $addr:$port: connected=$got, want $want"; return 1; }
  log "ok   $from -> $to ($addr): reachable=$got (ping, udp, tcp)"
}

cmd_check() {
  local id=$1 failed=0
  valid_id "$id"
  if ! command -v nc >/dev/null || ! command -v ping >/dev/null; then
    die "check needs nc and ping (netcat-openbsd, iputils-ping)"
  fi
  ip netns list | grep -q "^$(ns_of "$id" pub)\b" || die "no lab $id"
  # In parallel (each on its own random port): a blocked path costs a timeout of about a second per protocol.
  local probes=() pid
  probe "$id" hA pub "$SERVER_IP" yes & probes+=($!)
  probe "$id" hB pub "$SERVER_IP" yes & probes+=($!)
  probe "$id" hA hB 10.0.2.2 no & probes+=($!)
  probe "$id" hB hA 10.0.1.2 no & probes+=($!)
  probe "$id" hA rB 203.0.113.3 no & probes+=($!)
  probe "$id" hB rA 203.0.113.2 no & probes+=($!)
  for pid in "${probes[@]}"; do wait "$pid" || failed=1; done
  # The server sees each home only as its router's WAN address (masquerade).
  local side n seen
  for side in A:2 B:3; do
    n=${side#*:} side=${side%:*}
    seen="$(mktemp)"
    ip netns exec "$(ns_of "$id" pub)" timeout 2 nc -n -v -l "$SERVER_IP" 3999 >/dev/null 2>"$seen" &
    local listener=$!
    sleep 0.2
    in_ns "$id" "h$side" nc -z -w 1 "$SERVER_IP" 3999 >/dev/null 2>&1 || true
    wait "$listener" 2>/dev/null || true
    if grep -q "from 203.0.113.$n\b\|on 203.0.113.$n\b" "$seen"; then
      log "ok   h$side -> pub arrives from 203.0.113.$n (NAT)"
    else
      log "FAIL h$side -> pub: the server's nc said: $(cat "$seen")"; failed=1
    fi
    rm -f "$seen"
  done
  ((failed == 0)) || die "lab $id does not have the expected topology"
  log "lab $id: each home reaches only the server, through its NAT"
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
  up) cmd_up "${1:-}" ;;
  down) cmd_down "${1:-${P2P_NAT_LAB:?lab id: scripts/nat-lab.sh down ID}}" ;;
  env) valid_id "${1:-${P2P_NAT_LAB:?lab id}}"; env_lines "${1:-$P2P_NAT_LAB}" ;;
  check) cmd_check "${1:-${P2P_NAT_LAB:?lab id: scripts/nat-lab.sh check ID}}" ;;
  exec)
    local id
    if [[ $# -ge 2 && " ${NS_ROLES[*]} " == *" $2 "* ]]; then id=$1; shift; else id=${P2P_NAT_LAB:?lab id}; fi
    valid_id "$id"
    local role=${1:?namespace: pub, rA, rB, hA or hB}
    shift
    [[ " ${NS_ROLES[*]} " == *" $role "* ]] || die "unknown namespace '$role' (pub, rA, rB, hA, hB)"
    exec ip netns exec "$(ns_of "$id" "$role")" "$@"
    ;;
  *)
    sed -n '2,16p' "$0" >&2
    exit 2
    ;;
  esac
}

main "$@"
