# Sourced by the benchmarks that migrate test guests between namespace hosts (drain.sh, convergence.sh): what they
# need checked, a work folder, psmig (built, or PSMIG_BIN), the test guest, a lab of BENCH_HOSTS hosts (2 or 3), and
# the helpers below. Everything is removed on exit or Ctrl+C (KEEP=1 leaves the work folder).
#   in: bench (the script's name, for messages), BENCH_HOSTS, mem (the guests' MiB), here, repo
#   out: work, lab, psmig_dir; in_ns HOST CMD...; psmig HOST ARGS...; guest_args DIRTY SERIAL; yaml_args DIRTY VM
[ "$(id -u)" -eq 0 ] || { echo "$bench needs root (network namespaces for the lab, QEMU with KVM)" >&2; exit 1; }
for tool in qemu-system-x86_64 gcc ld objcopy python3; do command -v "$tool" >/dev/null || { echo "$bench: missing $tool" >&2; exit 1; }; done
bash "$repo/tests/lab/lab.sh" check || exit 1

work="$(mktemp -d "/tmp/psmig-${bench%.sh}-XXXXXX")"
lab="psmb$$"
lab_up=""
cleanup() {
  set +e
  [ -n "$lab_up" ] && bash "$repo/tests/lab/lab.sh" down "$lab" >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap "exit 130" INT TERM

if [ -n "${PSMIG_BIN:-}" ]; then
  psmig_dir="$PSMIG_BIN"
  [ -f "$psmig_dir/psmig.dll" ] || { echo "PSMIG_BIN=$psmig_dir has no psmig.dll" >&2; exit 1; }
else
  echo "building psmig (Release) into $work/psmig ..."
  psmig_dir="$work/psmig"
  dotnet build "$repo/src/PSMigration.Cli" -c Release -o "$psmig_dir" --nologo -v quiet >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; echo "building psmig failed" >&2; exit 1; }
fi
sh "$repo/tests/guest/build.sh" "$work" || { echo "building the test guest failed (tests/guest/build.sh)" >&2; exit 1; }
mkdir -p "$work/a" "$work/b" "$work/c"
if [ "$BENCH_HOSTS" = 3 ]; then bash "$repo/tests/lab/lab.sh" up "$lab" 3 >/dev/null; else bash "$repo/tests/lab/lab.sh" up "$lab" >/dev/null; fi
lab_up=1
in_ns() { local host="$1"; shift; ip netns exec "$lab-$host" "$@"; }
psmig() { local host="$1"; shift; in_ns "$host" dotnet "$psmig_dir/psmig.dll" "$@"; }

# The test guest's QEMU arguments, as psmig's TestGuest.Args has them (qboot, when installed, boots it faster).
qboot=(); [ -f /usr/share/qemu/qboot.rom ] && qboot=(-bios /usr/share/qemu/qboot.rom)
guest_args() { # DIRTY SERIAL
  printf '%s\n' -machine pc -accel kvm -m "$mem" -nodefaults -display none -no-reboot "${qboot[@]}" \
    -kernel "$work/guest.elf" -append "dirty=$1" -serial "file:$2"
}
# The same as a YAML flow sequence's items, with {runDir} for the serial file.
yaml_args() { guest_args "$1" "{runDir}/$2.serial" | python3 -c 'import json,sys; print(", ".join(json.dumps(l.rstrip("\n")) for l in sys.stdin))'; }
