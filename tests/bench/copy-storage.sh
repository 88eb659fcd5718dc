#!/usr/bin/env bash
# Benchmark (not a test): moving a VM with a local disk, memory and disk together, between two lab hosts
# (tests/lab/lab.sh: network namespaces a and b, over the unshaped "mig" link), in one run:
#   virsh            virsh migrate --live --p2p --copy-storage-all of a libvirt domain (libvirt's NBD on its own
#                    port, then its memory migration)
#   virsh-parallel   the same with --parallel --parallel-connections N (multifd for the memory)
#   psmig-engine     psmig migrate --copy-storage --transport engine of a QEMU VM: the disk's NBD stream and the
#                    N+1 memory connections in one engine session on the agent's one port
#   psmig-direct     psmig migrate --copy-storage --transport direct: NBD to the twin's server, then multifd
# The same guest everywhere (tests/guest, MEM_MIB of memory, KVM) with the same disk: a qcow2 image holding
# DISK_MIB of random data, copied afresh for each row. Each move must end with MEMCHECK OK from the guest on b
# and `qemu-img compare` finding the two images identical. The time compared is the wall time of the command
# (virsh's, psmig's), each from a started VM to the VM running on b.
#
#   usage: [MEM_MIB=1024] [DISK_MIB=2048] [CHANNELS=4] [PSMIG_BIN=DIR] tests/bench/copy-storage.sh
#
# Prints one row per way, then the ratio of psmig's engine (and direct) to virsh's best.
# Needs root, /dev/kvm, qemu-system-x86 + qemu-utils, libvirt-daemon-system, libvirt-clients, gcc + binutils, dotnet.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
mem="${MEM_MIB:-1024}" disk="${DISK_MIB:-2048}" channels="${CHANNELS:-4}"
. "$here/libvirt-lab.sh"
libvirt_lab_start copy-storage.sh disks qemu-system-x86_64 qemu-img libvirtd virsh gcc ld objcopy nsenter python3
now_ms() { date +%s%3N; }

echo "making a ${disk} MiB image of random data..."
head -c "$((disk * 1048576))" /dev/urandom >"$work/random.raw"
qemu-img convert -f raw -O qcow2 "$work/random.raw" "$work/master.qcow2"
rm "$work/random.raw"

mkdir -p "$work/qa" "$work/qb"
qboot=""; qboot_arg=""
[ -f /usr/share/qemu/qboot.rom ] && { qboot="<loader type='rom'>/usr/share/qemu/qboot.rom</loader>"; qboot_arg='"-bios", "/usr/share/qemu/qboot.rom", '; }
for transport in engine direct; do
  cat >>"$work/inventory.yaml" <<YAML
  - name: q$transport
    host: a
    vcpus: 1
    memoryMiB: $mem
    migration: { encryption: none }
    qemu:
      qmp: "{runDir}/q$transport.qmp"
      args: ["-machine", "pc", "-accel", "kvm", "-m", "$mem", "-nodefaults", "-display", "none", "-no-reboot", $qboot_arg"-kernel", "$kernel", "-append", "dirty=0", "-serial", "file:{runDir}/q$transport.serial", "-drive", "file={runDir}/q$transport.qcow2,format=qcow2,id=disk0,if=virtio"]
YAML
done
for h in a b; do
  virsh_on $h pool-create-as psmig dir --target /run/psmigration >/dev/null # transient: nothing written to /etc/libvirt
done
on b dotnet "$psmig" agent --inventory "$work/inventory.yaml" --host b --pki "$work/pki" --run-dir "$work/qb" \
  --qemu /usr/bin/qemu-system-x86_64 --storage-root "$work" >"$work/agent-b.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/agent-b.log" && break; sleep 0.2; done

wait_for() { # FILE PATTERN: a line matching, within 180 s
  for _ in $(seq 900); do
    if [ -f "$1" ] && grep -q "$2" "$1"; then
      ! grep -q "MEMCHECK FAIL" "$1" || { echo "the guest found its memory changed: $(grep -m1 'MEMCHECK FAIL' "$1")" >&2; return 1; }
      return 0
    fi
    sleep 0.2
  done
  echo "no '$2' in $1 after 180 s" >&2; return 1
}
identical() { qemu-img compare -U "$1" "$2" >/dev/null || { echo "$3: the images differ ($1, $2)" >&2; exit 1; }; }

results="$work/results"
: >"$results"
row() { printf '%-15s %9s %9s %9s  %s\n' "$@" | tee -a "$results"; }
printf '%-15s %9s %9s %9s  %s\n' way wall-ms psmig-ms down-ms note

for way in virsh virsh-parallel; do
  vm="lv${way//-/}"
  cp "$work/master.qcow2" "$work/libvirt-a/psmig/$vm.qcow2"
  cat >"$work/$vm.xml" <<XML
<domain type='kvm'><name>$vm</name><memory unit='MiB'>$mem</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>$qboot<kernel>$kernel</kernel><cmdline>dirty=0</cmdline></os>
  <on_reboot>destroy</on_reboot>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/run/psmigration/$vm.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='/run/psmigration/$vm.serial' append='on'/><target port='0'/></serial>
    <memballoon model='none'/></devices></domain>
XML
  virsh_on a define "$work/$vm.xml" >/dev/null
  virsh_on a start "$vm" >/dev/null
  wait_for "$work/libvirt-a/psmig/$vm.serial" "MEMCHECK OK"
  extra=(); [ "$way" = virsh-parallel ] && extra=(--parallel --parallel-connections "$channels")
  start=$(now_ms)
  virsh_on a migrate --live --p2p --persistent --undefinesource --copy-storage-all "${extra[@]}" \
    --migrateuri "tcp://$(address b)" --listen-address "$(address b)" "$vm" "$(uri b)" >/dev/null
  wall=$(( $(now_ms) - start ))
  down=$(virsh_on b domjobinfo --completed "$vm" | awk '/^Total downtime/ { print $3 }')
  wait_for "$work/libvirt-b/psmig/$vm.serial" "MEMCHECK OK"
  identical "$work/libvirt-a/psmig/$vm.qcow2" "$work/libvirt-b/psmig/$vm.qcow2" "$way"
  row "$way" "$wall" "-" "${down:-?}" "memory and disk verified on b"
  virsh_on b destroy "$vm" >/dev/null; virsh_on b undefine "$vm" >/dev/null
  rm -f "$work/libvirt-a/psmig/$vm.qcow2" "$work/libvirt-b/psmig/$vm.qcow2"
done

for transport in engine direct; do
  vm="q$transport"
  cp "$work/master.qcow2" "$work/qa/$vm.qcow2"
  args="$(python3 -c 'import re, sys; t = open(sys.argv[1]).read(); print(re.search(r"- name: " + sys.argv[2] + r"\n(?:    .*\n)*?      args: (\[.*\])", t).group(1))' "$work/inventory.yaml" "$vm")"
  mapfile -t argv < <(python3 -c 'import json, sys; [print(a.replace("{runDir}", sys.argv[2])) for a in json.loads(sys.argv[1])]' "$args" "$work/qa")
  on a qemu-system-x86_64 "${argv[@]}" -qmp "unix:$work/qa/$vm.qmp,server=on,wait=off" -daemonize -pidfile "$work/qa/$vm.pid" >/dev/null
  wait_for "$work/qa/$vm.serial" "MEMCHECK OK"
  start=$(now_ms)
  json="$(on a dotnet "$psmig" migrate --inventory "$work/inventory.yaml" --vm "$vm" --destination b --pki "$work/pki" --run-dir "$work/qa" \
    --transport "$transport" --connections "$channels" --copy-storage --json 2>>"$work/migrate.log")" || { echo "$transport: migration failed: $json" >&2; exit 1; }
  wall=$(( $(now_ms) - start ))
  wait_for "$work/qb/$vm.serial" "MEMCHECK OK"
  identical "$work/qa/$vm.qcow2" "$work/qb/$vm.qcow2" "psmig-$transport"
  read -r total down diskbytes channels_used < <(echo "$json" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["totalTimeMs"], r["downtimeMs"], r["diskBytes"], len(r["channelBytes"]))')
  row "psmig-$transport" "$wall" "$total" "$down" "$((diskbytes / 1048576)) MiB of disk$([ "$transport" = engine ] && echo ", $channels_used connections on one port"); memory and disk verified on b"
  python3 "$here/qmp.py" exec "$work/qb/$vm.qmp" quit >/dev/null 2>&1 || true
done

python3 - "$results" "$mem" "$disk" "$channels" <<'PY'
import sys
rows = {line.split()[0]: int(line.split()[1]) for line in open(sys.argv[1])}
best = min(rows["virsh"], rows["virsh-parallel"])
print(f"\nguest {sys.argv[2]} MiB, disk {sys.argv[3]} MiB of random data, {sys.argv[4]} connections; wall time of the command, one run each")
print(f"ratio psmig-engine / best virsh: {rows['psmig-engine'] / best:.2f}  (target: at most 1.1)")
print(f"ratio psmig-direct / best virsh: {rows['psmig-direct'] / best:.2f}")
PY
