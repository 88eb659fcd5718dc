# Sourced by the libvirt benchmarks (libvirt-transports.sh, copy-storage.sh): two lab hosts (tests/lab/lab.sh:
# network namespaces a and b) each with its own libvirtd (tests/lab/libvirtd-host.sh), psmig, the test guest, an
# inventory of the two hosts with their libvirt URIs, and the cluster PKI; everything removed on exit.
#
#   libvirt_lab_start NAME PREFIX TOOL...   checks root and the tools, then sets up; after it:
#     $work $lab $psmig $kernel "$work/inventory.yaml" (ends with "vms:", the caller appends), pids+=(...) for
#     background processes to stop; address H, uri H, on H CMD... (in H's network namespace),
#     in_host H CMD... (also in its libvirtd's mount namespace), virsh_on H ARGS...
# Needs $repo (the repository) set by the caller.

address() { [ "$1" = a ] && echo 198.51.100.1 || echo 198.51.100.2; }
uri() { echo "qemu+tcp://$(address "$1")/system"; }
on() { local h="$1"; shift; bash "$repo/tests/lab/lab.sh" exec "$lab" "$h" "$@"; }
in_host() { local h="$1"; shift; on "$h" nsenter --mount="/proc/$(cat "$work/libvirt-$h/run/libvirtd.pid")/ns/mnt" -- "$@"; }
virsh_on() { local h="$1"; shift; on "$h" virsh -c "$(uri "$h")" "$@"; }

libvirt_lab_cleanup() {
  for h in a b; do
    [ -f "$work/libvirt-$h/run/libvirtd.pid" ] || continue
    for d in $(virsh_on $h list --all --name 2>/dev/null); do
      virsh_on $h destroy "$d" >/dev/null 2>&1 || true
      virsh_on $h undefine "$d" >/dev/null 2>&1 || true
    done
  done
  pkill -f "$work/" 2>/dev/null || true
  for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  for h in a b; do kill "$(cat "$work/libvirt-$h/run/libvirtd.pid" 2>/dev/null)" 2>/dev/null || true; done
  bash "$repo/tests/lab/lab.sh" down "$lab" >/dev/null 2>&1 || true
  rm -rf "$work"
}

libvirt_lab_start() {
  local name="$1" prefix="$2"; shift 2
  [ "$(id -u)" -eq 0 ] || { echo "$name needs root (namespaces, libvirtd)" >&2; exit 1; }
  for tool in "$@"; do
    PATH="$PATH:/usr/sbin" command -v "$tool" >/dev/null || { echo "$name: $tool is missing (tests/run.sh installs the packages)" >&2; exit 1; }
  done
  work="$(mktemp -d "/tmp/psmig-bench-$prefix.XXXXXX")"
  lab="ps${prefix:0:1}$(printf '%06x' $((RANDOM * RANDOM % 16777216)))"
  pids=()
  trap libvirt_lab_cleanup EXIT
  trap 'exit 130' INT TERM

  if [ -n "${PSMIG_BIN:-}" ]; then psmig="$PSMIG_BIN/psmig.dll"; else
    echo "building psmig (Release)..."
    dotnet build "$repo/src/PSMigration.Cli" -c Release -o "$work/psmig" --nologo -v quiet >/dev/null
    psmig="$work/psmig/psmig.dll"
  fi
  sh "$repo/tests/guest/build.sh" "$work/guest"
  kernel="$work/guest/guest.elf"
  bash "$repo/tests/lab/lab.sh" up "$lab" >/dev/null
  bash "$repo/tests/lab/lab.sh" inventory "$lab" | python3 -c '
import re, sys
text = re.sub(r"cpuThreads: \d+", "cpuThreads: 8", sys.stdin.read())
for host, ip in (("a", "198.51.100.1"), ("b", "198.51.100.2")):
    text = text.replace(f"  - name: {host}\n", f"  - name: {host}\n    libvirt: {{ uri: \"qemu+tcp://{ip}/system\" }}\n")
print(text[:text.index("vms:")] + "vms:")' >"$work/inventory.yaml"
  dotnet "$psmig" cert init --inventory "$work/inventory.yaml" --out "$work/pki" >/dev/null
  for h in a b; do
    mkdir -p "$work/libvirt-$h/pki"
    cp "$work/pki/ca.crt" "$work/libvirt-$h/pki/ca-cert.pem"
    for role in server client; do cp "$work/pki/$h.crt" "$work/libvirt-$h/pki/$role-cert.pem"; cp "$work/pki/$h.key" "$work/libvirt-$h/pki/$role-key.pem"; done
    on $h bash "$repo/tests/lab/libvirtd-host.sh" "$work/libvirt-$h" "$(address $h)" >"$work/libvirtd-$h.log" 2>&1 &
    pids+=($!)
  done
  for h in a b; do
    for _ in $(seq 100); do [ -f "$work/libvirt-$h/run/libvirtd.pid" ] && virsh_on $h version >/dev/null 2>&1 && break; sleep 0.2; done
  done
}
