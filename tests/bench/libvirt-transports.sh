#!/usr/bin/env bash
# Benchmark (not a test): psmig migrating a libvirt domain between two real libvirt daemons, one per
# lab host (tests/lab/lab.sh and tests/lab/libvirtd-host.sh), a -> b over the unshaped "mig" link:
#   direct   libvirt's own peer-to-peer parallel migration (QEMU multifd over TCP, --parallel-connections N)
#   engine   libvirt's unix-socket migration carried by the engine: QEMU -> unix socket -> psmig's engine
#            -> N+1 connections -> the agent of b -> the socket libvirt's destination QEMU listens on
# The same guest (tests/guest: KVM, MEM_MIB of incompressible pattern, rewriting DIRTY MiB/s) and the
# same N for both; each measurement defines and starts a fresh domain on a, migrates it once the guest
# has checked its memory, requires MEMCHECK OK from the guest on b (its memory verified after the move),
# then removes the domain. Rows alternate (direct, engine, direct, ...) so drift hits both alike.
#
#   usage: [RUNS=1] [MEM_MIB=2048] [DIRTY=0] [CHANNELS=4] [ENCRYPTION=none|tls] [PSMIG_BIN=DIR] tests/bench/libvirt-transports.sh
#
# Columns: "job" is libvirt's own migration time (the completed job's time_elapsed, read from b), MB/s
# is bytes over that time, "wall" psmig's whole operation, "down" libvirt's measured downtime.
# Prints the medians and the ratio engine/direct of the job time (< 1: the engine is faster).
# Needs root, /dev/kvm, qemu-system-x86, libvirt-daemon-system, libvirt-clients, gcc + binutils, dotnet.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs="${RUNS:-1}" mem="${MEM_MIB:-2048}" dirty="${DIRTY:-0}" channels="${CHANNELS:-4}" encryption="${ENCRYPTION:-none}"
. "$here/libvirt-lab.sh"
libvirt_lab_start libvirt-transports.sh libvirt qemu-system-x86_64 libvirtd virsh gcc ld objcopy nsenter python3
in_host b dotnet "$psmig" agent --inventory "$work/inventory.yaml" --host b --pki "$work/pki" >"$work/agent-b.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/agent-b.log" && break; sleep 0.2; done

qboot=""; [ -f /usr/share/qemu/qboot.rom ] && qboot="<loader type='rom'>/usr/share/qemu/qboot.rom</loader>"
wait_for() { # FILE PATTERN COUNT SKIP: COUNT lines matching after the first SKIP lines, within 180 s
  for _ in $(seq 900); do
    if [ -f "$1" ] && [ "$(tail -n +"$(( $4 + 1 ))" "$1" | grep -c "$2")" -ge "$3" ]; then
      ! grep -q "MEMCHECK FAIL" "$1" || { echo "the guest found its memory changed: $(grep -m1 'MEMCHECK FAIL' "$1")" >&2; return 1; }
      return 0
    fi
    sleep 0.2
  done
  echo "no '$2' in $1 after 180 s" >&2; return 1
}

results="$work/results"
: >"$results"
printf '%-7s %-4s %9s %8s %9s %7s %8s\n' transport run job-ms MB/s wall-ms down GiB
for run in $(seq "$runs"); do
  for transport in direct engine; do
    vm="lvbench$run$transport"
    cat >"$work/$vm.xml" <<XML
<domain type='kvm'><name>$vm</name><memory unit='MiB'>$mem</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>$qboot<kernel>$work/guest/guest.elf</kernel><cmdline>dirty=$dirty</cmdline></os>
  <on_reboot>destroy</on_reboot>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='/run/psmigration/$vm.serial' append='on'/><target port='0'/></serial>
    <memballoon model='none'/></devices></domain>
XML
    printf '  - name: %s\n    host: a\n    vcpus: 1\n    memoryMiB: %s\n    migration: { encryption: %s }\n    libvirt: { domain: %s }\n' \
      "$vm" "$mem" "$encryption" "$vm" >>"$work/inventory.yaml"
    virsh_on a define "$work/$vm.xml" >/dev/null
    virsh_on a start "$vm" >/dev/null
    wait_for "$work/libvirt-a/psmig/$vm.serial" "MEMCHECK OK" 1 0
    json="$(in_host a dotnet "$psmig" migrate --inventory "$work/inventory.yaml" --vm "$vm" --destination b --pki "$work/pki" \
      --transport "$transport" --connections "$channels" --json 2>>"$work/migrate.log")" || { echo "$transport: migration failed: $json" >&2; exit 1; }
    wait_for "$work/libvirt-b/psmig/$vm.serial" "MEMCHECK OK" 1 0
    echo "$json" | python3 -c '
import json, sys
r = json.load(sys.stdin)
job = r["bytes"] / 1e6 / r["throughputMBps"] * 1000 if r["throughputMBps"] else 0
print(sys.argv[1], sys.argv[2], round(job), r["throughputMBps"], r["totalTimeMs"], r["downtimeMs"], round(r["bytes"] / 2**30, 2))' "$transport" "$run" \
      | tee -a "$results" | awk '{ printf "%-7s %-4s %9s %8s %9s %7s %8s\n", $1, $2, $3, $4, $5, $6, $7 }'
    virsh_on b destroy "$vm" >/dev/null; virsh_on b undefine "$vm" >/dev/null
  done
done
python3 - "$results" "$mem" "$channels" "$encryption" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = {t: statistics.median(float(r[2]) for r in rows if r[0] == t) for t in ("direct", "engine")}
print(f"\nguest {sys.argv[2]} MiB, {sys.argv[3]} connections, encryption {sys.argv[4]}; medians of libvirt's job time: "
      f"direct {med['direct']:.0f} ms, engine {med['engine']:.0f} ms")
print(f"ratio engine/direct: {med['engine'] / med['direct']:.2f}")
PY
