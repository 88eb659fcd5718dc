#!/usr/bin/env bash
# Benchmark (not a test): busy guests over a capped link on the two-host lab (tests/lab/lab.sh, a -> b over "mig",
# each VM's policy capping it), one measurement after another in one run:
#   predict   for five dirty rates (autoConverge on, so each one finishes): psmig plan --predict's totalSeconds against
#             the migration's measured time (psmig migrate's totalTimeMs), and the prediction's error
#   actions   one guest that cannot converge (it dirties faster than the cap) with each timeoutAction: cancel (today's
#             behaviour), autoConverge, pause and postcopy: its status, time, downtime, action and throttle
# Every guest checks its own memory; the destination's serial must show MEMCHECK OK after each completed move.
#
#   usage: [MEM_MIB=512] [CAP_GBPS=0.5] [RATES="10 30 60 90 150"] [BUSY=200] [PSMIG_BIN=DIR] [KEEP=1] tests/bench/convergence.sh
#
# Needs root (namespaces), /dev/kvm, qemu-system-x86_64, gcc + binutils (the guest), python3, dotnet, iproute2.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mem="${MEM_MIB:-512}"
cap="${CAP_GBPS:-0.5}"
rates="${RATES:-10 30 60 90 150}"
busy="${BUSY:-200}"

bench=convergence.sh BENCH_HOSTS=2
# shellcheck source=tests/bench/guest-lab.sh
source "$here/guest-lab.sh"

inventory="$work/inventory.yaml"
bash "$repo/tests/lab/lab.sh" inventory "$lab" | sed -e '/^vms:/,$d' -e 's/      parallel: Auto/      parallel: Disabled/' > "$inventory"
echo "vms:" >> "$inventory"
add_vm() { # NAME DIRTY POLICY
  printf '  - name: %s\n    host: a\n    vcpus: 1\n    memoryMiB: %s\n    migration: { bandwidthGbps: %s%s }\n    qemu: { qmp: "{runDir}/%s.qmp", args: [%s] }\n' \
    "$1" "$mem" "$cap" "${3:+, $3}" "$1" "$(yaml_args "$2" "$1")" >> "$inventory"
}
for rate in $rates; do add_vm "p$rate" "$rate" "autoConverge: true"; done
add_vm cancel "$busy" "completionTimeoutPerGiB: 20"
add_vm autoconverge "$busy" "autoConverge: true"
add_vm pause "$busy" "timeoutAction: pause, completionTimeoutPerGiB: 20"
add_vm postcopy "$busy" "postcopy: true, timeoutAction: postcopy, completionTimeoutPerGiB: 20"
psmig a cert init --inventory "$inventory" --out "$work/pki" >/dev/null
in_ns b dotnet "$psmig_dir/psmig.dll" agent --inventory "$inventory" --host b --pki "$work/pki" --run-dir "$work/b" \
  --qemu /usr/bin/qemu-system-x86_64 --storage-root "$work" 2>"$work/agent.log" &
for _ in $(seq 1 100); do grep -q listening "$work/agent.log" && break; sleep 0.1; done
grep -q listening "$work/agent.log" || { echo "the agent did not start:" >&2; cat "$work/agent.log" >&2; exit 1; }

start_guest() { # NAME DIRTY
  mapfile -t args < <(guest_args "$2" "$work/a/$1.serial")
  in_ns a qemu-system-x86_64 "${args[@]}" -qmp "unix:$work/a/$1.qmp,server=on,wait=off" -daemonize -pidfile "$work/a/$1.pid"
  for _ in $(seq 1 600); do grep -q "MEMCHECK OK" "$work/a/$1.serial" 2>/dev/null && break; sleep 0.1; done
}
stop_guests() { # NAME: the source (if it stayed) and the destination
  for pidfile in "$work/a/$1.pid" "$work/b/$1.pid"; do [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null; rm -f "$pidfile"; done
  sleep 0.5
}
verified() { # NAME: the guest found its memory intact at the destination
  for _ in $(seq 1 200); do grep -q "MEMCHECK OK" "$work/b/$1.serial" 2>/dev/null && break; sleep 0.1; done
  if grep -q "MEMCHECK FAIL" "$work/b/$1.serial" 2>/dev/null; then echo "FAIL"; elif grep -q "MEMCHECK OK" "$work/b/$1.serial" 2>/dev/null; then echo "ok"; else echo "?"; fi
}
field() { python3 -c "import json,sys; d=json.load(open('$1')); v=d$2; print(v if v is not None else '-')"; }
common=(--inventory "$inventory" --pki "$work/pki" --run-dir "$work/a")

echo "== prediction against measurement (autoConverge on; ${mem} MiB over a ${cap} Gbit/s cap)"
printf '%-8s %9s %8s %7s %9s %9s %7s %7s %6s\n' dirty sampled passes action pred_s meas_s error thrott memory
for rate in $rates; do
  vm="p$rate"
  start_guest "$vm" "$rate"
  psmig a plan --inventory "$inventory" --vm "$vm" -d b --predict --run-dir "$work/a" --json > "$work/$vm.plan.json" 2>>"$work/psmig.log"
  psmig a migrate "${common[@]}" --vm "$vm" --destination b --json > "$work/$vm.json" 2>>"$work/psmig.log" || true
  pred=$(field "$work/$vm.plan.json" "['prediction']['totalSeconds']")
  meas=$(python3 -c "import json; print(json.load(open('$work/$vm.json'))['totalTimeMs']/1000)")
  printf '%-8s %9.1f %8s %7s %9.1f %9.1f %6.0f%% %6s%% %6s\n' "$rate" "$(field "$work/$vm.plan.json" "['prediction']['dirtyRateMBps']")" \
    "$(field "$work/$vm.plan.json" "['prediction']['passes']")" "$(field "$work/$vm.plan.json" "['prediction']['actionNeeded']")" "$pred" "$meas" \
    "$(python3 -c "print(100*($pred-$meas)/$meas)")" "$(field "$work/$vm.json" "['throttlePercent']")" "$(verified "$vm")"
  stop_guests "$vm"
done

echo "== one guest dirtying ${busy} MiB/s over the ${cap} Gbit/s cap, with each action"
printf '%-13s %-10s %8s %10s %-13s %7s %6s\n' policy status total_s downtime action thrott memory
for vm in cancel autoconverge pause postcopy; do
  start_guest "$vm" "$busy"
  psmig a migrate "${common[@]}" --vm "$vm" --destination b --json > "$work/$vm.json" 2>>"$work/psmig.log" || true
  status=$(field "$work/$vm.json" "['status']")
  printf '%-13s %-10s %8.1f %10s %-13s %6s%% %6s\n' "$vm" "$status" "$(python3 -c "import json; print(json.load(open('$work/$vm.json'))['totalTimeMs']/1000)")" \
    "$(field "$work/$vm.json" "['downtimeMs']")" "$(field "$work/$vm.json" "['action']")" "$(field "$work/$vm.json" "['throttlePercent']")" \
    "$([ "$status" = Completed ] && verified "$vm" || echo "-")"
  stop_guests "$vm"
done
echo "total_s: psmig's totalTimeMs; downtime: psmig's downtimeMs (QEMU's, plus the commit; for pause, from the pause to the destination running)."
