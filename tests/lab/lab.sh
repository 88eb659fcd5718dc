#!/usr/bin/env bash
# The PSMigration test lab: two (or three) "hosts" as network namespaces joined by two links.
#
#   lab.sh check                    exit 0 if a lab can be built here, else print why and exit 1
#   lab.sh up NAME [3]              create hosts NAME-a and NAME-b (and NAME-c) (rolls back on failure)
#   lab.sh down NAME                remove them (idempotent)
#   lab.sh exec NAME a|b|c CMD...   run CMD inside a host
#   lab.sh inventory NAME [3]       print a PSMigration inventory (YAML) for the lab
#
#   host a                                   host b
#   lan0 203.0.113.1/24    <-- "lan" -->       lan0 203.0.113.2/24      veth, tbf 1 Gbit each way, MTU 1500
#   mig0 198.51.100.1/24 <-- "mig" -->       mig0 198.51.100.2/24   veth, unshaped, MTU 9000
#
# Each veth end is created directly inside its namespace (`ip -n A link add lan0 ... peer name
# lan0 netns B`), so no interface ever exists in the root namespace: the names are the same in
# every lab (lan0, mig0), the 15-character interface name limit does not depend on NAME, two
# labs never collide, and deleting a namespace deletes its veth pairs with it.
# Traffic stays inside the namespaces: no routes, bridges or NAT to the root namespace.
#
# Three hosts (drains need a third): the links become switches, a bridge per network in a fourth
# namespace NAME-sw, and each host's lan0 and mig0 are veth pairs to a port of that bridge
# (lan-a, mig-a, ...). Host c is lan0 203.0.113.3, mig0 198.51.100.3. The lan is still shaped on
# each host's lan0, so every host sends at most 1 Gbit/s.
set -euo pipefail

readonly LAN_A=203.0.113.1 LAN_B=203.0.113.2 LAN_C=203.0.113.3 LAN_PREFIX=24
readonly MIG_A=198.51.100.1 MIG_B=198.51.100.2 MIG_C=198.51.100.3 MIG_PREFIX=24 MIG_MTU=9000
readonly AGENT_PORT=49152

# Shaping of "lan": a token bucket (tbf) on the egress of each veth end, so a->b and b->a are
# each limited to 1 Gbit/s (full duplex, like a real 1 GbE port; a veth end only queues what it
# sends, so one qdisc per end shapes one direction).
#  - rate 1gbit counts L2 frame bytes (1514 per full frame), so TCP goodput is about
#    1448/1514 = 0.95 Gbit/s, which is what iperf3 reports on a real 1 GbE link (~0.94).
#  - burst 128kb (~1 ms at line rate): the bucket must hold more than one frame. With a
#    one-frame burst (1514 bytes) the bucket cannot refill between qdisc wakeups and iperf3
#    measured only ~0.68 Gbit/s; 32kb or 64kb reached ~0.95 but tbf then splits the 64 KB GSO
#    super-packets of the veth into frames and TCP saw retransmits; 128kb passes a GSO packet
#    whole and measured 0.93-0.97 Gbit/s in both directions, with -P 4 and bidirectionally,
#    without retransmits. (htb rate 1gbit measured the same; tbf is the simpler of the two.)
#  - latency 10ms bounds the queue (limit = rate * latency + burst, ~1.4 MB), about the
#    1000-packet txqueuelen of a real NIC.
readonly LAN_QDISC="tbf rate 1gbit burst 128kb latency 10ms"

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() { echo "lab.sh: $*" >&2; exit 1; }

# NAME becomes part of namespace names and /run/netns file names: keep it short and plain.
check_name() {
  [[ "${1:-}" =~ ^[a-z0-9][a-z0-9-]{0,31}$ ]] ||
    die "bad lab name '${1:-}': use 1-32 of a-z 0-9 - (e.g. psm1234)"
}

ns() { echo "$1-$2"; }   # ns NAME a|b

ns_exists() { [ -e "/run/netns/$1" ] || ip netns list 2>/dev/null | grep -qE "^$1( |$)"; }

# Prints every reason a lab cannot be built here; returns 1 if there is one.
reasons() {
  local bad=0 probe
  if [ "$(id -u)" -ne 0 ]; then echo "not root (network namespaces, veth and tc need root; run as root or in CI)"; bad=1; fi
  if ! command -v ip >/dev/null; then echo "no 'ip' command (apt-get install iproute2)"; bad=1; fi
  if ! command -v tc >/dev/null; then echo "no 'tc' command (apt-get install iproute2)"; bad=1; fi
  [ "$bad" -eq 0 ] || return 1
  # Probe what the lab really uses: a namespace, a veth pair in it and a tbf qdisc.
  probe="psmlabcheck-$$"
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "no network namespace support ('ip netns add' failed)"; return 1
  fi
  if ! ip -n "$probe" link add t0 type veth peer name t1 2>/dev/null; then
    echo "no veth support ('ip link add type veth' failed in a namespace)"; bad=1
  elif ! tc -n "$probe" qdisc add dev t0 root $LAN_QDISC 2>/dev/null; then
    echo "no tbf qdisc support ('tc qdisc add ... tbf' failed; kernel module sch_tbf)"; bad=1
  fi
  ip netns del "$probe" 2>/dev/null || true
  return "$bad"
}

cmd_check() {
  local why
  if why="$(reasons)"; then return 0; fi
  echo "lab.sh: cannot build a lab here:" >&2
  sed 's/^/  /' <<<"$why" >&2
  return 1
}

# Kills what runs inside a namespace, then removes it. A process left inside would keep the
# namespace, and the veth ends in it, alive after the /run/netns entry is gone.
remove_ns() {
  local n="$1" pids
  ns_exists "$n" || return 0
  pids="$(ip netns pids "$n" 2>/dev/null || true)"
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [ -z "$(ip netns pids "$n" 2>/dev/null || true)" ] && break
      sleep 0.1
    done
  fi
  ip netns del "$n" 2>/dev/null || true
  if ns_exists "$n"; then rm -f "/run/netns/$n" 2>/dev/null || true; fi
}

cmd_down() {
  check_name "${1:-}"
  local h
  for h in a b c sw; do remove_ns "$(ns "$1" "$h")"; done
}

check_hosts() { [[ "${1:-2}" =~ ^[23]$ ]] || die "a lab has 2 or 3 hosts, not '${1:-}'"; }

no_ipv6() { in_ns "$1" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do [ -w "$f" ] && echo 1 >"$f"; done; true'; }

# up3 NAME: the three-host lab, behind a switch namespace (see the top of this file).
up3() {
  local name="$1" sw h n lan mig all
  sw="$(ns "$name" sw)"
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  no_ipv6 "$sw"
  ip -n "$sw" link add lan type bridge
  ip -n "$sw" link add mig mtu "$MIG_MTU" type bridge
  for h in a b c; do
    n="$(ns "$name" "$h")"
    case "$h" in a) lan=$LAN_A mig=$MIG_A;; b) lan=$LAN_B mig=$MIG_B;; *) lan=$LAN_C mig=$MIG_C;; esac
    ip netns add "$n"
    ip -n "$n" link set lo up
    no_ipv6 "$n"
    ip -n "$n" link add lan0 type veth peer name "lan-$h" netns "$sw"
    ip -n "$n" link add mig0 mtu "$MIG_MTU" type veth peer name "mig-$h" netns "$sw" mtu "$MIG_MTU"
    ip -n "$sw" link set "lan-$h" master lan up
    ip -n "$sw" link set "mig-$h" master mig up
    ip -n "$n" addr add "$lan/$LAN_PREFIX" dev lan0
    ip -n "$n" addr add "$mig/$MIG_PREFIX" dev mig0
    # shellcheck disable=SC2086
    tc -n "$n" qdisc add dev lan0 root $LAN_QDISC
    ip -n "$n" link set lan0 up
    ip -n "$n" link set mig0 up
  done
  ip -n "$sw" link set lan up
  ip -n "$sw" link set mig up
  for _ in $(seq 1 50); do
    all=1
    for h in a b c; do
      ip -n "$(ns "$name" "$h")" -o link show lan0 | grep -q LOWER_UP || all=0
      ip -n "$(ns "$name" "$h")" -o link show mig0 | grep -q LOWER_UP || all=0
    done
    [ "$all" -eq 1 ] && break
    sleep 0.1
  done
  echo "lab $name up: hosts a, b, c (lan0 203.0.113.1-3, mig0 198.51.100.1-3) behind switch $sw; lan shaped to 1 Gbit/s from each host"
}

# in_ns NS CMD...: run a setup command inside a namespace.
in_ns() { local n="$1"; shift; ip netns exec "$n" "$@"; }

cmd_up() {
  check_name "${1:-}"
  check_hosts "${2:-2}"
  local name="$1" hosts="${2:-2}" a b
  a="$(ns "$name" a)"; b="$(ns "$name" b)"
  cmd_check || exit 1
  if ns_exists "$a" || ns_exists "$b" || ns_exists "$(ns "$name" c)" || ns_exists "$(ns "$name" sw)"; then
    die "lab '$name' exists already (lab.sh down $name first)"
  fi
  # From here on, any failure removes whatever was created.
  ROLLBACK="$name"
  trap 'rc=$?; trap - EXIT; if [ "$rc" -ne 0 ]; then echo "lab.sh: up $ROLLBACK failed, rolling back" >&2; cmd_down "$ROLLBACK"; fi; exit "$rc"' EXIT
  trap 'exit 130' INT TERM
  if [ "$hosts" -eq 3 ]; then
    up3 "$name"
    trap - EXIT INT TERM
    return 0
  fi

  ip netns add "$a"
  ip netns add "$b"
  for n in "$a" "$b"; do
    ip -n "$n" link set lo up
    # IPv4 only: no IPv6 link-local addresses, router solicitations or MLD reports, so the
    # interface byte counters move only with the traffic a test sends. Best effort (a kernel
    # booted with ipv6.disable=1 has no such sysctl).
    in_ns "$n" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do [ -w "$f" ] && echo 1 >"$f"; done; true'
  done

  ip -n "$a" link add lan0 type veth peer name lan0 netns "$b"
  ip -n "$a" link add mig0 mtu "$MIG_MTU" type veth peer name mig0 netns "$b" mtu "$MIG_MTU"

  ip -n "$a" addr add "$LAN_A/$LAN_PREFIX" dev lan0
  ip -n "$b" addr add "$LAN_B/$LAN_PREFIX" dev lan0
  ip -n "$a" addr add "$MIG_A/$MIG_PREFIX" dev mig0
  ip -n "$b" addr add "$MIG_B/$MIG_PREFIX" dev mig0

  for n in "$a" "$b"; do
    # shellcheck disable=SC2086
    tc -n "$n" qdisc add dev lan0 root $LAN_QDISC
    ip -n "$n" link set lan0 up
    ip -n "$n" link set mig0 up
  done

  # veth carriers come up as soon as both ends are up; wait briefly so callers can ping at once.
  for _ in $(seq 1 50); do
    if ip -n "$a" -o link show lan0 | grep -q LOWER_UP && ip -n "$a" -o link show mig0 | grep -q LOWER_UP &&
       ip -n "$b" -o link show lan0 | grep -q LOWER_UP && ip -n "$b" -o link show mig0 | grep -q LOWER_UP; then
      break
    fi
    sleep 0.1
  done

  trap - EXIT INT TERM
  echo "lab $name up: $a (lan0 $LAN_A, mig0 $MIG_A), $b (lan0 $LAN_B, mig0 $MIG_B); lan shaped to 1 Gbit/s each way"
}

cmd_exec() {
  check_name "${1:-}"
  [ $# -ge 3 ] || usage
  local name="$1" host="$2"; shift 2
  case "$host" in a|b|c) ;; *) die "host must be a, b or c, not '$host'";; esac
  local n; n="$(ns "$name" "$host")"
  ns_exists "$n" || die "lab '$name' is not up (no namespace $n)"
  exec ip netns exec "$n" "$@"
}

# host_entry NAME LAN MIG THREADS: one host of the inventory.
host_entry() {
  cat <<EOF
  - name: $1
    cluster: lab
    cpuThreads: $4
    agent: { port: $AGENT_PORT }
    interfaces:
      - name: lan0
        addresses: [$2/$LAN_PREFIX]
        speedGbps: 1
      - name: mig0
        addresses: [$3/$MIG_PREFIX]
        speedGbps: 10
        mtu: $MIG_MTU
EOF
}

cmd_inventory() {
  check_name "${1:-}"
  check_hosts "${2:-2}"
  local name="$1" hosts="${2:-2}" threads
  threads="$(nproc 2>/dev/null || echo 1)"
  cat <<EOF
# PSMigration inventory for lab "$name" (tests/lab/lab.sh): hosts a and b are the network
# namespaces $name-a and $name-b$( [ "$hosts" -eq 3 ] && echo " (and c, $name-c, behind switch $name-sw)"). "lan" is a 1 Gbit/s shaped veth pair, "mig" an unshaped veth
# pair with MTU 9000, so a -> b must plan over "mig".
networks:
  - name: lan
    cidr: 203.0.113.0/$LAN_PREFIX
    role: management
  - name: mig
    cidr: 198.51.100.0/$MIG_PREFIX
    role: migration
    priority: 1

clusters:
  - name: lab
    migration:
      parallel: Auto
      maxConnections: 16
      postcopy: false
      compression: none
      transport: direct
      encryption: none          # the lab has no PKI; a test that wants TLS overrides this
      maxDowntimeMs: 300

hosts:
$(host_entry a "$LAN_A" "$MIG_A" "$threads")
$(host_entry b "$LAN_B" "$MIG_B" "$threads")
$( [ "$hosts" -eq 3 ] && host_entry c "$LAN_C" "$MIG_C" "$threads" )

vms:
  - name: vm1
    host: a
    vcpus: 1
    memoryMiB: 256
    qemu:
      qmp: /run/psmig/$name/vm1.qmp
      args: ["-m", "256", "-smp", "1"]
EOF
}

[ $# -ge 1 ] || usage
verb="$1"; shift
case "$verb" in
  check)     [ $# -eq 0 ] || usage; cmd_check ;;
  up)        [ $# -ge 1 ] && [ $# -le 2 ] || usage; cmd_up "$@" ;;
  down)      [ $# -eq 1 ] || usage; cmd_down "$1" ;;
  exec)      cmd_exec "$@" ;;
  inventory) [ $# -ge 1 ] && [ $# -le 2 ] || usage; cmd_inventory "$@" ;;
  -h|--help|help) usage ;;
  *)         usage ;;
esac
