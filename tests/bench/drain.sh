#!/usr/bin/env bash
# Benchmark (not a test): emptying a host of N test guests on the three-host lab (tests/lab/lab.sh up NAME 3), in one
# run, one measurement after another:
#   single    each guest alone (psmig migrate a -> c), one after the other: the sum of single migrations
#   one       psmig host suspend --host a --drain with one move at a time (one destination, c, maxConcurrentIncoming 1)
#   two       the same drain, two at a time (destinations b and c, maxConcurrentIncoming 1 each)
#   planned   the drain as the planner schedules it without limits (parallel off: no maxConcurrentOutgoing)
# Each drain's wall time (psmig's whole process) is set against the sum of the singles, against the drain plan's
# prediction (psmig plan --from-host), and against the link's capacity: all the bytes moved over the planned
# bandwidth (each move's plan, 10 Gbit/s over "mig"). Between measurements psmig host resume --failback brings the
# guests back (not measured). Every guest checks its own memory all along; any MEMCHECK FAIL aborts the run.
#
#   usage: [N=4] [MEM_MIB=512] [DIRTY=0] [PSMIG_BIN=DIR] [KEEP=1] tests/bench/drain.sh   (KEEP: leave the work folder)
#
# Needs root (namespaces), /dev/kvm, qemu-system-x86_64, gcc + binutils (the guest), python3, dotnet, iproute2.
# Everything it starts is stopped and the lab removed on exit or Ctrl+C.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
n="${N:-4}"
mem="${MEM_MIB:-512}"
dirty="${DIRTY:-0}"

bench=drain.sh BENCH_HOSTS=3
# shellcheck source=tests/bench/guest-lab.sh
source "$here/guest-lab.sh"

inventory="$work/inventory.yaml"
bash "$repo/tests/lab/lab.sh" inventory "$lab" 3 | sed -e '/^vms:/,$d' -e 's/      parallel: Auto/      parallel: Disabled/' > "$inventory"
echo "vms:" >> "$inventory"
for i in $(seq 1 "$n"); do
  printf '  - name: g%s\n    host: a\n    vcpus: 1\n    memoryMiB: %s\n    qemu: { qmp: "{runDir}/g%s.qmp", args: [%s] }\n' "$i" "$mem" "$i" "$(yaml_args "$dirty" "g$i")" >> "$inventory"
done
psmig a cert init --inventory "$inventory" --out "$work/pki" >/dev/null
for host in a b c; do
  in_ns "$host" dotnet "$psmig_dir/psmig.dll" agent --inventory "$inventory" --host "$host" --pki "$work/pki" --run-dir "$work/$host" \
    --qemu /usr/bin/qemu-system-x86_64 --storage-root "$work" 2>"$work/agent-$host.log" &
done
for host in a b c; do
  for _ in $(seq 1 100); do grep -q listening "$work/agent-$host.log" && break; sleep 0.1; done
  grep -q listening "$work/agent-$host.log" || { echo "the agent of $host did not start:" >&2; cat "$work/agent-$host.log" >&2; exit 1; }
done
for i in $(seq 1 "$n"); do
  mapfile -t args < <(guest_args "$dirty" "$work/a/g$i.serial")
  in_ns a qemu-system-x86_64 "${args[@]}" -qmp "unix:$work/a/g$i.qmp,server=on,wait=off" -daemonize -pidfile "$work/a/g$i.pid"
done
for i in $(seq 1 "$n"); do
  for _ in $(seq 1 600); do grep -q "MEMCHECK OK" "$work/a/g$i.serial" 2>/dev/null && break; sleep 0.1; done
done

common=(--inventory "$inventory" --pki "$work/pki")
now_ms() { date +%s%3N; }
check_memory() {
  if grep -l "MEMCHECK FAIL" "$work"/*/*.serial 2>/dev/null; then echo "drain.sh: a guest found its memory changed" >&2; exit 1; fi
}
json_sum() { python3 -c "import json,sys; d=json.load(open('$1')); print(sum(r['$2'] for r in (d['results'] if 'results' in d else [d])))"; }
set_limit() { # LIMIT: the cluster's maxConcurrentIncoming, or "none"
  if [ "$1" = none ]; then psmig a policy set --inventory "$inventory" --cluster lab --clear maxConcurrentIncoming >/dev/null
  else psmig a policy set --inventory "$inventory" --cluster lab --max-concurrent-incoming "$1" >/dev/null; fi
}

# --- a warm-up move there and back (the first twin of a run starts slower), then single migrations, one after the
# other (a -> c, then back from c, not measured)
psmig a migrate "${common[@]}" --run-dir "$work/a" --vm g1 --destination c --json > /dev/null 2>>"$work/psmig.log"
psmig c migrate "${common[@]}" --run-dir "$work/c" --vm g1 --destination a --json > /dev/null 2>>"$work/psmig.log"
single_ms=0; single_bytes=0
for i in $(seq 1 "$n"); do
  start=$(now_ms)
  psmig a migrate "${common[@]}" --run-dir "$work/a" --vm "g$i" --destination c --json > "$work/single-$i.json" 2>>"$work/psmig.log"
  single_ms=$(( single_ms + $(now_ms) - start ))
  single_bytes=$(( single_bytes + $(json_sum "$work/single-$i.json" bytes) ))
  psmig c migrate "${common[@]}" --run-dir "$work/c" --vm "g$i" --destination a --json > /dev/null 2>>"$work/psmig.log"
done
check_memory

printf '%-8s %6s %9s %9s %9s %10s %10s %10s\n' mode moves wall_s pred_s cap_s wall/single wall/pred wall/cap
printf '%-8s %6s %9.2f %9s %9.2f %10s %10s %10.2f\n' single "$n" "$(echo "$single_ms/1000" | bc -l)" - \
  "$(echo "$single_bytes*8/10^10" | bc -l)" 1.00 - "$(echo "$single_ms/1000/($single_bytes*8/10^10)" | bc -l)"

measure() { # MODE LIMIT DESTINATIONS...
  local mode="$1" limit="$2"; shift 2
  local dests=(); for d in "$@"; do dests+=(--destination "$d"); done
  set_limit "$limit"
  local pred; pred=$(psmig a plan --inventory "$inventory" --from-host a "${dests[@]}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["predictedSeconds"])')
  local start; start=$(now_ms)
  psmig a host suspend "${common[@]}" --run-dir "$work/a" --host a --drain "${dests[@]}" --json > "$work/drain-$mode.json" 2>>"$work/psmig.log" || true
  local wall=$(( $(now_ms) - start ))
  python3 -c "import json; [print('  $mode: not moved:', r['vm'], r['errorId'], r['error']) for r in json.load(open('$work/drain-$mode.json'))['results'] if r['status'] != 'Completed']"
  local moved; moved=$(python3 -c "import json; print(len(json.load(open('$work/drain-$mode.json'))['moved']))")
  local bytes; bytes=$(json_sum "$work/drain-$mode.json" bytes)
  local cap; cap=$(echo "$bytes*8/10^10" | bc -l)
  printf '%-8s %6s %9.2f %9.2f %9.2f %10.2f %10.2f %10.2f\n' "$mode" "$moved" "$(echo "$wall/1000" | bc -l)" "$pred" "$cap" \
    "$(echo "$wall/$single_ms" | bc -l)" "$(echo "$wall/1000/$pred" | bc -l)" "$(echo "$wall/1000/$cap" | bc -l)"
  psmig a host resume "${common[@]}" --run-dir "$work/a" --host a --failback --json > "$work/back-$mode.json" 2>>"$work/psmig.log" ||
    { echo "the failback after '$mode' failed:" >&2; cat "$work/back-$mode.json" >&2; exit 1; }
  check_memory
}
measure one 1 c
measure two 1 b c
measure planned none
echo "N=$n guests of $mem MiB (dirty $dirty MiB/s); planned bandwidth 10 Gbit/s per move over 'mig' (unshaped veth)."
echo "wall: psmig's whole process (start, plan, maintenance, the moves, the summary); cap: the bytes moved over 10 Gbit/s."
