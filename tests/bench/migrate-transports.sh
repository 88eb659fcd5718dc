#!/usr/bin/env bash
# Benchmark (not a test): live migration of the same guest between the lab's two namespace hosts
# (tests/lab/lab.sh, a -> b over the unshaped "mig" link), one measurement after another in one run:
#   direct       psmig, transport direct (QEMU's own multifd TCP), no encryption
#   engine       psmig, transport engine (QEMU <-> unix socket <-> engine <-> agent), no encryption
#                (the data channels are authenticated by the session token only)
#   socat        baseline: QEMU migrates to a socat per-connection relay in host a
#                (socat TCP-LISTEN:P,bind=127.0.0.1,fork,reuseaddr TCP:198.51.100.2:Q) that forwards
#                each connection to a destination QEMU (-incoming defer) in host b; both QEMUs driven
#                over QMP by tests/bench/qmp.py with the settings psmig applies (MigrationSetup)
#   direct-tls   psmig, transport direct, encryption tls (QEMU's tls-creds-x509)
#   engine-tls   psmig, transport engine, encryption tls (the engine's TLS 1.3)
#   engine-cut   psmig, transport engine, no encryption, with b's mig0 taken down CUT_AFTER seconds into the
#                migration (up again when it ends): the engine fails over to the lan (shaped, 1 Gbit/s); the
#                failovers and the time each lost are printed (psmig's result, "failovers")
#   engine-one   psmig, transport engine, no encryption, policy networks: [mig], with mig0 shaped to 1 Gbit/s
#                like the lan for the measurement: one 1 Gbit/s link
#   engine-stripe  the same, policy stripe: true: the channels spread over mig and lan, two 1 Gbit/s links
#                (what each network carried is printed: psmig's result, "networks")
# Every measurement: a fresh source VM (the test guest, tests/guest: KVM, MEM_MIB of incompressible
# pattern) started in host a, migrated once it printed MEMCHECK OK (memory filled and verified), then
# the destination's serial must show MEMCHECK OK (memory verified after the move) and no FAIL; then
# the destination VM quits. Prints one table row per measurement, then medians and the ratios.
#
#   usage: [RUNS=1] [MEM_MIB=2048] [DIRTY=0] [CHANNELS=4] [ONLY="direct engine ..."] \
#          [SOCAT_OPTS="-b 8192"] [SOCAT_TRIES=3] [QUIET=0.25] [QUIET_WAIT=300] [PAUSE=0] [DOTNET_ENV=...] [PSMIG_BIN=DIR] tests/bench/migrate-transports.sh
#   RUNS        rounds of all measurements (interleaved, so drift hits all alike)      default 1
#   MEM_MIB     guest RAM in MiB                                                      default 2048
#   DIRTY       MiB/s the guest rewrites while migrating (0: a pure transfer)           default 0
#   CHANNELS    multifd channels (psmig --connections)                                 default 4
#   ONLY        a subset of: direct engine socat direct-tls engine-tls engine-cut engine-one engine-stripe
#                                                                          default all but engine-cut, engine-one, engine-stripe
#   CUT_AFTER   seconds into an engine-cut migration that b's mig0 goes down              default 2
#   SOCAT_OPTS  extra socat options (e.g. "-b 262144"; socat's default block is 8 KiB)   default none
#   SOCAT_TRIES attempts of the socat baseline when its relay stalls (see socat_measure)   default 3
#   QUIET       before each measurement, wait until the machine is at most this busy     default 0.25
#   QUIET_WAIT  ... for at most this many seconds (then measure anyway, with a note)     default 300
#   PAUSE       1: stop the source guest before migrating (QMP stop), so its vCPU does not compete
#               for the CPUs and the transports alone are measured (psmig keeps a paused VM
#               paused where it arrives, so the benchmark 'cont's it there; qmp.py does)  default 0
#   DOTNET_ENV  NAME=VALUE... for the psmig agent and migrate processes, e.g.
#               "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0" to try a runtime setting    default none
#   PSMIG_BIN   a directory with a built psmig.dll, instead of building one (Release) into a temp dir
#
# Needs root (namespaces), /dev/kvm, qemu-system-x86_64, gcc + binutils (the guest), socat, python3,
# dotnet, iproute2. Everything it starts is stopped and the lab removed on exit or Ctrl+C.
#
# Columns: "wall" is psmig's totalTimeMs (connect, start the twin, migrate, commit, quit the source;
# for socat: from starting the destination QEMU to it running); "qemu" is QEMU's own total-time,
# read by qmp.py on a second QMP monitor of the source (psmig holds the first); MB/s is bytes over
# that time (MB = 10^6 B); "psmig" is psmig's own throughputMBps; "down" is QEMU's downtime, "+cmt"
# that plus the commit (psmig's downtimeMs; for socat the same sum, measured by qmp.py). CPU seconds used during the migration: src-vcpu, the guest's vCPU thread in
# the source QEMU (the guest verifies its memory nonstop, so it wants a whole CPU); src-mig, the rest
# of the source QEMU (migration thread, multifd send threads, QEMU's TLS); dst-qemu, the destination
# QEMU; psmig, the migrate process (the engine's source end); agent, the agent (the engine's
# destination end); socat, the relay and its per-connection children; irq, irq + softirq time (veth
# networking the kernel charges to no process); other, busy time outside all these (other work on the
# machine, kernel threads). "busy" is the machine's busy fraction during the migration, "bg" its busy
# fraction just before (other work; see QUIET). A per-thread breakdown is printed as it goes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs="${RUNS:-1}"
mem="${MEM_MIB:-2048}"
dirty="${DIRTY:-0}"
channels="${CHANNELS:-4}"
only="${ONLY:-direct engine socat direct-tls engine-tls}"
socat_opts="${SOCAT_OPTS:-}"
quiet="${QUIET:-0.25}"
socat_tries="${SOCAT_TRIES:-3}"
pause="${PAUSE:-0}"
read -r -a dotnet_env <<< "${DOTNET_ENV:-}"
quiet_wait="${QUIET_WAIT:-300}"
readonly MIG_A=198.51.100.1 MIG_B=198.51.100.2 RELAY_PORT=49201 INCOMING_PORT=49202
readonly GUEST_TIMEOUT=180 MIGRATE_TIMEOUT=900
readonly MIG_SHAPE="tc qdisc add dev mig0 root tbf rate 1gbit burst 128kb latency 10ms" # as the lab shapes the lan

# --- what it needs
missing=()
[ "$(id -u)" -eq 0 ] || { echo "migrate-transports.sh needs root (network namespaces for the lab, QEMU with KVM)" >&2; exit 1; }
[ -w /dev/kvm ] || missing+=("/dev/kvm (KVM: load kvm_intel or kvm_amd; in a VM, enable nested virtualization)")
command -v qemu-system-x86_64 >/dev/null || missing+=("qemu-system-x86_64 (apt-get install -y qemu-system-x86)")
for tool in gcc ld objcopy; do command -v "$tool" >/dev/null || missing+=("$tool (apt-get install -y gcc binutils)"); done
command -v socat >/dev/null || missing+=("socat (apt-get install -y socat)")
command -v python3 >/dev/null || missing+=("python3 (apt-get install -y python3)")
command -v dotnet >/dev/null || [ -n "${PSMIG_BIN:-}" ] || missing+=("dotnet (the .NET SDK, to build psmig)")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "migrate-transports.sh: missing:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
bash "$repo/tests/lab/lab.sh" check || exit 1
for kind in $only; do
  case "$kind" in direct|engine|socat|direct-tls|engine-tls|engine-cut|engine-one|engine-stripe) ;; *) echo "ONLY: unknown measurement '$kind'" >&2; exit 2;; esac
done

work="$(mktemp -d /tmp/psmig-bench-XXXXXX)"
lab="psmxb$$"
lab_up=""
pids=()
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  # QEMUs daemonize: stop them by their pid files (lab down also kills what runs in the namespaces).
  for pidfile in "$work"/a/*.pid "$work"/b/*.pid; do
    [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null
  done
  [ -n "$lab_up" ] && bash "$repo/tests/lab/lab.sh" down "$lab" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

# --- psmig, the guest, the lab, the inventory, the PKI, the agent
if [ -n "${PSMIG_BIN:-}" ]; then
  psmig_dir="$PSMIG_BIN"
  [ -f "$psmig_dir/psmig.dll" ] || { echo "PSMIG_BIN=$psmig_dir has no psmig.dll" >&2; exit 1; }
else
  echo "building psmig (Release) into $work/psmig ..."
  psmig_dir="$work/psmig"
  PSMIG_ARTIFACTS="${PSMIG_ARTIFACTS:-$work/artifacts}" \
    dotnet build "$repo/src/PSMigration.Cli" -c Release -o "$psmig_dir" --nologo -v quiet >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; echo "building psmig failed" >&2; exit 1; }
fi
psmig() { dotnet "$psmig_dir/psmig.dll" "$@"; }
sh "$repo/tests/guest/build.sh" "$work" || { echo "building the test guest failed (tests/guest/build.sh)" >&2; exit 1; }
mkdir -p "$work/a" "$work/b"
A="$work/a" B="$work/b"

bash "$repo/tests/lab/lab.sh" up "$lab" >/dev/null
lab_up=1
in_a() { ip netns exec "$lab-a" "$@"; }
in_b() { ip netns exec "$lab-b" "$@"; }

# The test guest's QEMU arguments, as psmig's TestGuest.Args has them (qboot, when installed, boots
# it faster), plus named threads (-name debug-threads=on) for the CPU breakdown. The source (started
# here) and the twin (started by the agent from the inventory) must get the same ones.
qboot=(); [ -f /usr/share/qemu/qboot.rom ] && qboot=(-bios /usr/share/qemu/qboot.rom)
guest_qemu_args() { # VM SERIALFILE
  local a=(-name "$1,debug-threads=on" -machine pc -accel kvm -m "$mem" -nodefaults -display none -no-reboot
           "${qboot[@]}" -kernel "$work/guest.elf" -append "dirty=$dirty" -serial "file:$2")
  printf '%s\n' "${a[@]}"
}
guest_args() { # VM: the same as a YAML flow sequence's items, with {runDir} for the serial file
  guest_qemu_args "$1" "{runDir}/$1.serial" | python3 -c 'import json,sys; print(", ".join(json.dumps(l.rstrip("\n")) for l in sys.stdin))'
}
# cpuThreads 4: the planner lowers a Custom connection count to the hosts' CPU threads (2 here),
# and this benchmark compares transports at the same N, so the inventory claims enough threads.
threads=$(( channels > $(nproc) ? channels : $(nproc) ))
cat > "$work/lab.yaml" <<YAML
# migrate-transports.sh: lab $lab (tests/lab/lab.sh), migration network "mig"
networks:
  - { name: lan, cidr: 203.0.113.0/24, role: management }
  - { name: mig, cidr: 198.51.100.0/24, role: migration, priority: 1 }
clusters:
  - name: lab
    migration: { parallel: Custom, connections: $channels, postcopy: false, compression: none, transport: direct, encryption: none, maxDowntimeMs: 300 }
hosts:
  - name: a
    cluster: lab
    cpuThreads: $threads
    agent: { port: 49152 }
    interfaces:
      - { name: lan0, addresses: [203.0.113.1/24], speedGbps: 1 }
      - { name: mig0, addresses: [$MIG_A/24], speedGbps: 10, mtu: 9000 }
  - name: b
    cluster: lab
    cpuThreads: $threads
    agent: { port: 49152 }
    interfaces:
      - { name: lan0, addresses: [203.0.113.2/24], speedGbps: 1 }
      - { name: mig0, addresses: [$MIG_B/24], speedGbps: 10, mtu: 9000 }
vms:
  - name: plain
    host: a
    vcpus: 1
    memoryMiB: $mem
    qemu: { qmp: "{runDir}/plain.qmp", args: [$(guest_args plain)] }
  - name: tls
    host: a
    vcpus: 1
    memoryMiB: $mem
    migration: { encryption: tls }
    qemu: { qmp: "{runDir}/tls.qmp", args: [$(guest_args tls)] }
  - name: one
    host: a
    vcpus: 1
    memoryMiB: $mem
    migration: { networks: [mig] }
    qemu: { qmp: "{runDir}/one.qmp", args: [$(guest_args one)] }
  - name: stripe
    host: a
    vcpus: 1
    memoryMiB: $mem
    migration: { stripe: true }
    qemu: { qmp: "{runDir}/stripe.qmp", args: [$(guest_args stripe)] }
YAML
psmig cert init --inventory "$work/lab.yaml" --out "$work/pki" >/dev/null
# What psmig plans with while mig0 is shaped (engine-one, engine-stripe): the link as fast as it then is, so a stripe
# shares the connections out as it would between two real 1 Gbit/s NICs.
sed 's/speedGbps: 10,/speedGbps: 1,/' "$work/lab.yaml" > "$work/lab-shaped.yaml"

# The guest's kernel is in $work: the agent may let a twin name host paths only under its roots (older psmig had none).
storage=()
dotnet "$psmig_dir/psmig.dll" agent --help 2>/dev/null | grep -q -- --storage-root && storage=(--storage-root "$work")
ip netns exec "$lab-b" env "${dotnet_env[@]}" dotnet "$psmig_dir/psmig.dll" agent --inventory "$work/lab.yaml" --host b --pki "$work/pki" \
  --run-dir "$B" --qemu /usr/bin/qemu-system-x86_64 "${storage[@]}" 2>"$work/agent.log" &
agent_pid=$!   # ip netns exec and env exec dotnet: this is the agent itself (not so through a shell function)
pids+=("$agent_pid")
for _ in $(seq 1 100); do grep -q listening "$work/agent.log" && break; sleep 0.1; done
grep -q listening "$work/agent.log" || { echo "the agent did not start:" >&2; cat "$work/agent.log" >&2; exit 1; }

# --- helpers
now_ms() { date +%s%3N; }
# The machine's busy fraction over one second, from /proc/stat (steal excluded).
busy_now() {
  local a b
  a=$(head -n1 /proc/stat); sleep 1; b=$(head -n1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); t = 0; i = 0
    for (k = 2; k <= 9; k++) t += y[k] - x[k]
    i = (y[5] - x[5]) + (y[6] - x[6]) + (y[9] - x[9])
    printf "%.2f", (t > 0 ? 1 - i / t : 0) }'
}
# wait_quiet: before a measurement (nothing of ours running), wait up to QUIET_WAIT seconds for the
# machine to be below QUIET busy, so other work (concurrent test runs) does not skew the numbers.
# Sets bg to the busy fraction measured last; says so when it gave up waiting.
wait_quiet() {
  local deadline=$(( $(date +%s) + quiet_wait )) said=""
  while true; do
    bg=$(busy_now)
    awk -v b="$bg" -v q="$quiet" 'BEGIN { exit !(b <= q) }' && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "  note: the machine is ${bg} busy before this measurement (other work); measuring anyway" >&2
      return 0
    fi
    [ -n "$said" ] || { echo "  waiting for the machine to be quiet (busy ${bg} > ${quiet}; QUIET_WAIT=${quiet_wait} s)..." >&2; said=1; }
    sleep 4
  done
}
serial_has() { [ -f "$1" ] && grep -q "^$2" "$1"; }
# wait_serial FILE: MEMCHECK OK within GUEST_TIMEOUT seconds, and never MEMCHECK FAIL.
wait_serial() {
  local file=$1 deadline=$(( $(date +%s) + GUEST_TIMEOUT ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if serial_has "$file" "MEMCHECK FAIL"; then echo "$(grep -m1 '^MEMCHECK FAIL' "$file")"; return 1; fi
    if serial_has "$file" "MEMCHECK OK"; then return 0; fi
    sleep 0.1
  done
  echo "no MEMCHECK OK within ${GUEST_TIMEOUT} s (last line: $(tail -n1 "$file" 2>/dev/null))"
  return 1
}
# start_vm HOSTDIR NETNS-RUNNER VM [EXTRA...]: a daemonized guest QEMU with its QMP socket and pid file.
start_vm() {
  local dir=$1 runner=$2 vm=$3; shift 3
  rm -f "$dir/$vm.serial" "$dir/$vm.qmp"
  local args; mapfile -t args < <(guest_qemu_args "$vm" "$dir/$vm.serial")
  $runner qemu-system-x86_64 "${args[@]}" \
    -qmp "unix:$dir/$vm.qmp,server=on,wait=off" -daemonize -pidfile "$dir/$vm.pid" "$@" 2>>"$work/qemu.log"
}
# stop_vm HOSTDIR VM: quit (QMP) or kill a VM's QEMU, wait for it to be gone, remove its files.
stop_vm() {
  local dir=$1 vm=$2 pid=""
  [ -f "$dir/$vm.pid" ] && pid=$(cat "$dir/$vm.pid")
  [ -S "$dir/$vm.qmp" ] && timeout 5 python3 "$here/qmp.py" exec "$dir/$vm.qmp" quit >/dev/null 2>&1 || true
  if [ -n "$pid" ]; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/$vm.pid" "$dir/$vm.incoming.pid" "$dir/$vm.qmp"
}
start_watch() { # LABEL=PIDFILE|--pid LABEL=PID ...
  python3 "$here/qmp.py" cpu-watch "$@" > "$work/cpu.json" &
  watch_pid=$!
  pids+=("$watch_pid")
}
stop_watch() { kill -TERM "$watch_pid" 2>/dev/null || true; wait "$watch_pid" 2>/dev/null || true; }
agent_lines() { tail -n "+$(( $1 + 1 ))" "$work/agent.log" | sed 's/^/    agent: /'; }

# record KIND RUN OK ERROR [WALL_MS QEMU_MS BYTES QEMU_DOWNTIME_MS DOWNTIME_MS PSMIG_MBPS]: one JSON line
# in results, with $bg and cpu.json.
record() {
  BG="${bg:-}" CPU_JSON="$work/cpu.json" python3 - "$@" >> "$work/results.jsonl" <<'PY'
import json, os, sys
args = sys.argv[1:] + [""] * 10
kind, run, ok, error, wall, qemu, nbytes, qdown, down, mbps = args[:10]
num = lambda s: float(s) if s not in ("", "null", "None") else None
try:
    watch = json.load(open(os.environ["CPU_JSON"]))
except Exception:
    watch = {}
cpu_by = {}
for p in watch.get("processes", []):
    cpu_by[p["label"]] = cpu_by.get(p["label"], 0) + p["cpu"]
    if p["label"] == "src-qemu":  # the guest's vCPU apart from QEMU's migration threads
        vcpu = sum(v for k, v in p["threads"].items() if k.startswith("CPU "))
        cpu_by["src-vcpu"] = cpu_by.get("src-vcpu", 0) + vcpu
        cpu_by["src-mig"] = cpu_by.get("src-mig", 0) + p["cpu"] - vcpu
print(json.dumps({"kind": kind, "run": int(run), "ok": ok == "ok", "error": error, "wallMs": num(wall),
                  "qemuMs": num(qemu), "bytes": num(nbytes), "qemuDowntimeMs": num(qdown), "downtimeMs": num(down),
                  "psmigMBps": num(mbps), "cpu": cpu_by, "busy": watch.get("busy"), "other": watch.get("otherCpuSeconds"),
                  "irq": watch.get("irqCpuSeconds"), "bg": num(os.environ.get("BG", "")), "watch": watch}))
PY
}
# Per process and thread, where the CPU went (threads above 0.2 s).
print_cpu() {
  python3 - "$work/cpu.json" <<'PY'
import json, os, sys
try:
    w = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
print(f"    cpu: machine busy {w['busy']*100:.0f}% of {w['seconds']:.1f} s x {os.cpu_count()} CPUs = {w['busyCpuSeconds']:.1f} CPU s "
      f"(irq+softirq {w['irqCpuSeconds']:.1f}, steal {w['stealCpuSeconds']:.1f}); other (not the processes below) {w['otherCpuSeconds']:.1f} s")
merged = {}
for p in w["processes"]:   # one line per label (socat's children; the agent's: QEMU before it daemonizes)
    m = merged.setdefault(p["label"], {"cpu": 0.0, "threads": {}, "n": 0})
    m["cpu"] += p["cpu"]; m["n"] += 1
    for k, v in p["threads"].items():
        m["threads"][k] = m["threads"].get(k, 0) + v
for label, m in merged.items():
    threads = ", ".join(f"{k} {v:.1f}" for k, v in sorted(m["threads"].items(), key=lambda kv: -kv[1]) if v >= 0.2)
    n = f" ({m['n']} processes)" if m["n"] > 1 else ""
    print(f"    cpu: {label + n:<22} {m['cpu']:6.1f} s  {threads}")
PY
}

# psmig_measure KIND VM TRANSPORT RUN [cut]
psmig_measure() {
  local kind=$1 vm=$2 transport=$3 run=$4 cut=${5:-} log_from error="" ok=ok cutter= inventory="$work/lab.yaml"
  [ "$cut" = shaped ] && inventory="$work/lab-shaped.yaml"
  [ "$cut" = shaped ] && { in_a $MIG_SHAPE; in_b $MIG_SHAPE; }
  rm -f "$work/cpu.json"
  wait_quiet
  log_from=$(wc -l < "$work/agent.log")
  # A second QMP monitor, for qmp.py to read QEMU's own times while psmig holds the first.
  start_vm "$A" in_a "$vm" -qmp "unix:$A/$vm.watch,server=on,wait=off" ||
    { record "$kind" "$run" FAIL "source QEMU did not start: $(tail -n1 "$work/qemu.log")"; return; }
  if ! error=$(wait_serial "$A/$vm.serial"); then
    record "$kind" "$run" FAIL "source guest: $error"; stop_vm "$A" "$vm"; return
  fi
  [ "$pause" = 1 ] && python3 "$here/qmp.py" exec "$A/$vm.watch" stop >/dev/null
  echo "  $kind (run $run): source guest ready ($(grep -m1 '^FILLED' "$A/$vm.serial"))$([ "$pause" = 1 ] && echo ", paused"), migrating..."
  rm -f "$B/$vm.serial"
  python3 "$here/qmp.py" watch-migration --qmp "$A/$vm.watch" --timeout "$MIGRATE_TIMEOUT" > "$work/qemu-times.json" 2>/dev/null &
  local watcher=$!
  pids+=("$watcher")
  ip netns exec "$lab-a" env "${dotnet_env[@]}" dotnet "$psmig_dir/psmig.dll" migrate --inventory "$inventory" --vm "$vm" --destination b \
    --transport "$transport" --connections "$channels" --pki "$work/pki" --run-dir "$A" \
    --no-inventory-update --timeout "$MIGRATE_TIMEOUT" --json > "$work/result.json" 2>"$work/migrate.err" &
  local client=$!
  if [ "$cut" = cut ]; then
    ( sleep "${CUT_AFTER:-2}"; in_b ip link set mig0 down ) &
    cutter=$!
  fi
  start_watch "src-qemu=$A/$vm.pid" "dst-qemu=$B/$vm.incoming.pid" "dst-qemu=$B/$vm.pid" --tree "psmig=$client" --tree "agent=$agent_pid"
  local rc=0
  wait "$client" || rc=$?
  if [ -n "$cutter" ]; then
    wait "$cutter" 2>/dev/null || true
    in_b ip link set mig0 up
  fi
  [ "$cut" = shaped ] && { in_a tc qdisc del dev mig0 root; in_b tc qdisc del dev mig0 root; }
  stop_watch
  # The watcher ends when the migration ended and QEMU quit; if psmig failed early, stop it.
  for _ in $(seq 1 50); do kill -0 "$watcher" 2>/dev/null || break; sleep 0.1; done
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  local status wall qemu_ms nbytes qdown down mbps
  status=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("status"))' "$work/result.json" 2>/dev/null || echo none)
  read -r wall qemu_ms nbytes qdown down mbps < <(python3 - "$work/result.json" "$work/qemu-times.json" <<'PY' || echo "     "
import json, sys
d = json.load(open(sys.argv[1]))
try:
    q = json.load(open(sys.argv[2]))
except Exception:
    q = {}
print(d.get("totalTimeMs"), q.get("totalTimeMs"), d.get("bytes"), q.get("downtimeMs"), d.get("downtimeMs"), d.get("throughputMBps"))
PY
)
  if [ "$rc" -ne 0 ] || [ "$status" != "Completed" ]; then
    ok=FAIL
    error="psmig migrate exit $rc, status $status: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error"))' "$work/result.json" 2>/dev/null || tail -n2 "$work/migrate.err")"
  else
    # psmig leaves a VM that was paused paused where it arrived: run it, so it verifies its memory.
    [ "$pause" = 1 ] && timeout 10 python3 "$here/qmp.py" exec "$B/$vm.qmp" cont >/dev/null 2>&1 || true
    if ! error=$(wait_serial "$B/$vm.serial"); then
      ok=FAIL; error="destination guest: $error"
    else
      error=""
    fi
  fi
  record "$kind" "$run" "$ok" "$error" "$wall" "$qemu_ms" "$nbytes" "$qdown" "$down" "$mbps"
  echo "  $kind (run $run): $ok ${error:+- $error }psmig: totalTimeMs ${wall:-?}, downtimeMs ${down:-?}, throughputMBps ${mbps:-?};" \
       "QEMU: total-time ${qemu_ms:-?} ms, downtime ${qdown:-?} ms; destination: $(grep '^MEMCHECK' "$B/$vm.serial" 2>/dev/null | tail -n1)"
  python3 -c 'import json,sys; [print("    warning:", w) for w in json.load(open(sys.argv[1])).get("warnings", [])]' "$work/result.json" 2>/dev/null || true
  python3 - "$work/result.json" <<'PY' 2>/dev/null || true
import json, sys
for n in json.load(open(sys.argv[1])).get("networks", []):
    print(f"    network {n['network']}: {n['connections']} connection(s), {n['bytes'] / 1048576:.0f} MiB")
PY
  python3 -c 'import json,sys; [print("    failover: %s %s -> %s at %.0f MiB, %d ms lost" % (f["channel"], f["fromNetwork"], f["toNetwork"], f["atBytes"] / 1048576, f["lostMs"])) for f in json.load(open(sys.argv[1])).get("failovers", [])]' "$work/result.json" 2>/dev/null || true
  print_cpu
  agent_lines "$log_from"
  stop_vm "$B" "$vm"
  stop_vm "$A" "$vm"   # psmig quits the source; this is for a failed migration
  rm -f "$A/$vm.watch"
}

# socat_measure RUN: both QEMUs by hand, a socat relay in host a. QEMU 7.2's destination takes the
# first connection to arrive as the main channel, and socat connects each accepted connection from
# its own child, so now and then the channels arrive out of order and the migration stalls; qmp.py
# then cancels it (status "stalled") and the measurement is repeated (SOCAT_TRIES, default 3).
socat_measure() {
  local run=$1 attempt
  for attempt in $(seq 1 "$socat_tries"); do
    socat_attempt "$run" "$attempt" && return
    echo "  socat (run $run): attempt $attempt failed, will retry: $(cat "$work/result.json" "$work/relay.err" 2>/dev/null | tail -n3)"
    print_cpu
    stop_vm "$B" plain
    stop_vm "$A" plain
  done
  record socat "$run" FAIL "the relay failed or stalled in all $socat_tries attempts (connections reordered? see above)"
}

# socat_attempt RUN ATTEMPT: returns 1 (without recording) when the relay stalled and may be retried.
socat_attempt() {
  local run=$1 attempt=$2 vm=plain error="" ok=ok note=""
  [ "$attempt" -gt 1 ] && note=" (attempt $attempt)"
  rm -f "$work/cpu.json"
  wait_quiet
  start_vm "$A" in_a "$vm" || { record socat "$run" FAIL "source QEMU did not start: $(tail -n1 "$work/qemu.log")"; return; }
  if ! error=$(wait_serial "$A/$vm.serial"); then
    record socat "$run" FAIL "source guest: $error"; stop_vm "$A" "$vm"; return
  fi
  [ "$pause" = 1 ] && python3 "$here/qmp.py" exec "$A/$vm.qmp" stop >/dev/null
  echo "  socat (run $run)$note: source guest ready ($(grep -m1 '^FILLED' "$A/$vm.serial"))$([ "$pause" = 1 ] && echo ", paused"), migrating..."
  # shellcheck disable=SC2086 # SOCAT_OPTS is a word list
  ip netns exec "$lab-a" socat $socat_opts "TCP-LISTEN:$RELAY_PORT,bind=127.0.0.1,fork,reuseaddr" "TCP:$MIG_B:$INCOMING_PORT" 2>>"$work/socat.log" &
  local socat_pid=$!
  pids+=("$socat_pid")
  start_watch "src-qemu=$A/$vm.pid" "dst-qemu=$B/$vm.pid" --tree "socat=$socat_pid"
  local t0; t0=$(now_ms)
  if ! start_vm "$B" in_b "$vm" -S -incoming defer; then
    ok=FAIL; error="destination QEMU did not start: $(tail -n1 "$work/qemu.log")"
  fi
  local rc=0
  if [ "$ok" = ok ]; then
    python3 "$here/qmp.py" relay-migrate --src "$A/$vm.qmp" --dst "$B/$vm.qmp" --listen "tcp:$MIG_B:$INCOMING_PORT" \
      --uri "tcp:127.0.0.1:$RELAY_PORT" --channels "$channels" --timeout "$MIGRATE_TIMEOUT" > "$work/result.json" 2>"$work/relay.err" || rc=$?
  fi
  local t1; t1=$(now_ms)
  stop_watch
  kill "$socat_pid" 2>/dev/null || true
  wait "$socat_pid" 2>/dev/null || true
  [ "$rc" -eq 3 ] && [ "$attempt" -lt "$socat_tries" ] && return 1
  local state wall="" qemu_ms="" nbytes="" qdown="" down=""
  if [ "$ok" = ok ]; then
    state=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["status"], d.get("destination"))' "$work/result.json" 2>/dev/null || echo "none none")
    read -r qemu_ms nbytes qdown down < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d.get("totalTimeMs"), d.get("bytes"), d.get("downtimeMs"), (d.get("downtimeMs") or 0) + (d.get("commitMs") or 0))' "$work/result.json" 2>/dev/null || echo "   ")
    wall=$(( t1 - t0 ))
    if [ "$state" != "completed running" ]; then
      ok=FAIL; error="relay migration: $state $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error") or "")' "$work/result.json" 2>/dev/null) $(tail -n2 "$work/relay.err")"
    elif ! error=$(wait_serial "$B/$vm.serial"); then
      ok=FAIL; error="destination guest: $error"
    else
      error=""
    fi
  fi
  [ "$attempt" -gt 1 ] && error="${error:+$error; }attempt $attempt of $socat_tries (the earlier ones failed or stalled)"
  record socat "$run" "$ok" "$error" "$wall" "$qemu_ms" "$nbytes" "$qdown" "$down"
  echo "  socat (run $run)$note: $ok wall ${wall:-?} ms, qemu ${qemu_ms:-?} ms, downtime ${down:-?} ms;" \
       "destination: $(grep '^MEMCHECK' "$B/$vm.serial" 2>/dev/null | tail -n1)"
  echo "    qmp.py: $(cat "$work/result.json" 2>/dev/null)"
  print_cpu
  stop_vm "$B" "$vm"
  stop_vm "$A" "$vm"
}

echo "migrating a ${mem} MiB test guest (dirty=${dirty} MiB/s, KVM) a -> b over the lab's 'mig' link (veth, MTU 9000)," \
     "${channels} multifd channels, ${runs} run(s); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "QEMU: $(qemu-system-x86_64 --version | head -n1); socat relay options: ${socat_opts:-defaults}" \
     "; source guest $([ "$pause" = 1 ] && echo "paused while migrating (PAUSE=1)" || echo running); psmig runtime env: ${DOTNET_ENV:-none}"
for run in $(seq 1 "$runs"); do
  for kind in $only; do
    case "$kind" in
      direct)     psmig_measure direct plain direct "$run" ;;
      engine)     psmig_measure engine plain engine "$run" ;;
      socat)      socat_measure "$run" ;;
      direct-tls) psmig_measure direct-tls tls direct "$run" ;;
      engine-tls) psmig_measure engine-tls tls engine "$run" ;;
      engine-cut) psmig_measure engine-cut plain engine "$run" cut ;;
      engine-one) psmig_measure engine-one one engine "$run" shaped ;;
      engine-stripe) psmig_measure engine-stripe stripe engine "$run" shaped ;;
    esac
  done
done

echo
python3 - "$work/results.jsonl" "$mem" "$dirty" "$channels" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mem, dirty, channels = sys.argv[2:5]
labels = ["src-vcpu", "src-mig", "dst-qemu", "psmig", "agent", "socat"]
fmt = lambda v, spec: "-" if v is None else format(v, spec)
pct = lambda v: "-" if v is None else f"{v * 100:.0f}%"
print(f"{mem} MiB guest, dirty={dirty} MiB/s, {channels} channels, lab a -> b over 'mig'")
head = (f"{'measurement':<13} {'run':>3} {'ok':<4} {'wall s':>6} {'qemu s':>6} {'MB/s':>5} {'psmig':>5} {'down':>5} {'+cmt':>5} | "
        f"CPU s: {'src-vcpu':>8} {'src-mig':>7} {'dst-qemu':>8} {'psmig':>5} {'agent':>5} {'socat':>5} {'irq':>5} {'other':>5} | "
        f"{'busy':>4} {'bg':>4}")
print(head)
print("-" * len(head))
for r in rows:
    mbps = r["bytes"] / 1e3 / r["qemuMs"] if r["bytes"] and r["qemuMs"] else None
    cpu = [r["cpu"].get(l) for l in labels] + [r.get("irq"), r["other"] if r["other"] is None else max(0.0, r["other"])]
    widths = (8, 7, 8, 5, 5, 5, 5, 5)
    print(f"{r['kind']:<13} {r['run']:>3} {'ok' if r['ok'] else 'FAIL':<4} {fmt(r['wallMs'] and r['wallMs'] / 1000, '.2f'):>6} "
          f"{fmt(r['qemuMs'] and r['qemuMs'] / 1000, '.2f'):>6} {fmt(mbps, '.0f'):>5} {fmt(r.get('psmigMBps'), '.0f'):>5} "
          f"{fmt(r.get('qemuDowntimeMs'), '.0f'):>5} {fmt(r['downtimeMs'], '.0f'):>5} | "
          + "       " + " ".join(f"{fmt(c, '.1f'):>{w}}" for c, w in zip(cpu, widths))
          + f" | {pct(r['busy']):>4} {pct(r.get('bg')):>4}")
    if r["error"]:
        print(f"{'':<16}{r['error']}")
print("(wall: psmig totalTimeMs, socat: destination start to running; qemu: QEMU total-time; MB/s: bytes / qemu;"
      " psmig: its throughputMBps; down: QEMU downtime ms; +cmt: with the commit, psmig's downtimeMs)")

def median(kind, key):
    vals = [r[key] for r in rows if r["kind"] == kind and r["ok"] and r[key]]
    return statistics.median(vals) if vals else None

print()
print("ratios (medians of the successful runs; lower is faster; wall = psmig totalTimeMs / socat setup-to-running, qemu = QEMU total-time):")
def ratio(a, b, target=None, what=""):
    parts = []
    for key, name in (("qemuMs", "qemu"), ("wallMs", "wall")):
        x, y = median(a, key), median(b, key)
        parts.append(f"{name} {x / y:5.2f}" if x and y else f"{name}   n/a")
    t = f"   (target <= {target})" if target else ""
    print(f"  {a + ' / ' + b:<26} {'  '.join(parts)}{t}{what}")
ratio("engine", "direct", 1.10)
ratio("engine", "socat")
ratio("direct", "socat")
ratio("engine-tls", "direct-tls", 0.7, "   engine TLS / QEMU's TLS")
ratio("engine-cut", "engine", None, "   a migration whose 'mig' link is cut, against one whose link holds")
ratio("engine-stripe", "engine-one", 0.56, "   striped over two 1 Gbit/s links, against one of them (1.8 x the throughput)")

# CPU per GB moved: the migration's whole cost (every process but the guest's vCPU, plus irq), and the engine's two ends.
def per_gb(kind, labels):
    vals = [(sum(r["cpu"].get(l) or 0 for l in labels) + (r.get("irq") or 0 if "irq" in labels else 0)) / (r["bytes"] / 1e9)
            for r in rows if r["kind"] == kind and r["ok"] and r["bytes"]]
    return statistics.median(vals) if vals else None
print()
print("CPU s per GB moved (medians): migration = src-mig + dst-qemu + psmig + agent + socat + irq; engine = psmig + agent")
for kind in dict.fromkeys(r["kind"] for r in rows):
    whole, engine = per_gb(kind, ["src-mig", "dst-qemu", "psmig", "agent", "socat", "irq"]), per_gb(kind, ["psmig", "agent"])
    print(f"  {kind:<14} migration {fmt(whole, '5.2f')}  engine {fmt(engine, '5.2f')}")
failed = [r for r in rows if not r["ok"]]
print(f"\n{len(rows) - len(failed)} of {len(rows)} migrations verified (destination MEMCHECK OK after the move)"
      + (f"; FAILED: {', '.join(r['kind'] + ' run ' + str(r['run']) for r in failed)}" if failed else ""))
sys.exit(1 if failed else 0)
PY
