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
# Every measurement: a fresh source VM (the test guest, tests/guest: KVM, MEM_MIB of incompressible
# pattern) started in host a, migrated once it printed MEMCHECK OK (memory filled and verified), then
# the destination's serial must show MEMCHECK OK (memory verified after the move) and no FAIL; then
# the destination VM quits. Prints one table row per measurement, then medians and the ratios.
#
#   usage: [RUNS=1] [MEM_MIB=2048] [DIRTY=0] [CHANNELS=4] [ONLY="direct engine ..."] \
#          [SOCAT_OPTS="-b 8192"] [PSMIG_BIN=DIR] tests/bench/migrate-transports.sh
#   RUNS        rounds of all measurements (interleaved, so drift hits all alike)      default 1
#   MEM_MIB     guest RAM in MiB                                                      default 2048
#   DIRTY       MiB/s the guest rewrites while migrating (0: a pure transfer)           default 0
#   CHANNELS    multifd channels (psmig --connections)                                 default 4
#   ONLY        a subset of: direct engine socat direct-tls engine-tls                   default all
#   SOCAT_OPTS  extra socat options (e.g. "-b 262144"; socat's default block is 8 KiB)   default none
#   PSMIG_BIN   a directory with a built psmig.dll, instead of building one (Release) into a temp dir
#
# Needs root (namespaces), /dev/kvm, qemu-system-x86_64, gcc + binutils (the guest), socat, python3,
# dotnet, iproute2. Everything it starts is stopped and the lab removed on exit or Ctrl+C.
# Times: "wall" is psmig's totalTimeMs (connect, start the twin, migrate, commit, quit the source; for
# socat: start of the destination QEMU to it running); "qemu" is QEMU's own total-time (for psmig
# derived from its bytes / throughputMBps, which psmig computes from QEMU's total-time); MB/s = bytes
# over QEMU time (MB = 10^6 B); downtime = QEMU's downtime + the commit (psmig's downtimeMs; for
# socat the same sum). CPU columns: CPU seconds used during the measurement by the source QEMU, the
# destination QEMU, the psmig migrate process (the engine's source end), the agent (the engine's
# destination end), socat; "busy" is the whole machine's busy fraction, "other" CPU seconds spent
# outside those processes (kernel work not charged to them, and whatever else runs on the machine).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs="${RUNS:-1}"
mem="${MEM_MIB:-2048}"
dirty="${DIRTY:-0}"
channels="${CHANNELS:-4}"
only="${ONLY:-direct engine socat direct-tls engine-tls}"
socat_opts="${SOCAT_OPTS:-}"
readonly MIG_A=198.51.100.1 MIG_B=198.51.100.2 RELAY_PORT=49201 INCOMING_PORT=49202
readonly GUEST_TIMEOUT=180 MIGRATE_TIMEOUT=900

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
  case "$kind" in direct|engine|socat|direct-tls|engine-tls) ;; *) echo "ONLY: unknown measurement '$kind'" >&2; exit 2;; esac
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
qmp() { python3 "$here/qmp.py" "$@"; }
sh "$repo/tests/guest/build.sh" "$work" || { echo "building the test guest failed (tests/guest/build.sh)" >&2; exit 1; }
mkdir -p "$work/a" "$work/b"
A="$work/a" B="$work/b"

bash "$repo/tests/lab/lab.sh" up "$lab" >/dev/null
lab_up=1
in_a() { ip netns exec "$lab-a" "$@"; }
in_b() { ip netns exec "$lab-b" "$@"; }

# The guest's QEMU arguments, with {runDir} for each host's run directory (the agent expands it).
guest_args() { # VM
  printf '"%s", ' -machine pc -accel kvm -m "$mem" -nodefaults -display none -no-reboot \
    -kernel "$work/guest.elf" -append "dirty=$dirty"
  printf '"-serial", "file:{runDir}/%s.serial"' "$1"
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
YAML
psmig cert init --inventory "$work/lab.yaml" --out "$work/pki" >/dev/null

in_b dotnet "$psmig_dir/psmig.dll" agent --inventory "$work/lab.yaml" --host b --pki "$work/pki" \
  --run-dir "$B" --qemu /usr/bin/qemu-system-x86_64 2>"$work/agent.log" &
agent_pid=$!   # ip netns exec execs dotnet: this is the agent itself
pids+=("$agent_pid")
for _ in $(seq 1 100); do grep -q listening "$work/agent.log" && break; sleep 0.1; done
grep -q listening "$work/agent.log" || { echo "the agent did not start:" >&2; cat "$work/agent.log" >&2; exit 1; }

# --- helpers
now_ms() { date +%s%3N; }
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
  $runner qemu-system-x86_64 -machine pc -accel kvm -m "$mem" -nodefaults -display none -no-reboot \
    -kernel "$work/guest.elf" -append "dirty=$dirty" -serial "file:$dir/$vm.serial" \
    -qmp "unix:$dir/$vm.qmp,server=on,wait=off" -daemonize -pidfile "$dir/$vm.pid" "$@" 2>>"$work/qemu.log"
}
# stop_pidfile FILE: quit (QMP) or kill the QEMU of a pid file, and wait for it to be gone.
stop_vm() { # HOSTDIR VM
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

# record KIND RUN OK ERROR WALL_MS QEMU_MS BYTES DOWNTIME_MS [JSONFILE]: one JSON line in results.
record() {
  python3 - "$@" "$work/cpu.json" >> "$work/results.jsonl" <<'PY'
import json, sys
kind, run, ok, error, wall, qemu, nbytes, down, cpu = sys.argv[1:10]
num = lambda s: float(s) if s not in ("", "null", "None") else None
try:
    watch = json.load(open(cpu))
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
                  "qemuMs": num(qemu), "bytes": num(nbytes), "downtimeMs": num(down), "cpu": cpu_by,
                  "busy": watch.get("busy"), "other": watch.get("otherCpuSeconds"), "watch": watch}))
PY
}
# Per process and thread, where the CPU went (threads above 0.2 s).
print_cpu() {
  python3 - "$work/cpu.json" <<'PY'
import json, sys
try:
    w = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
print(f"    cpu: machine busy {w['busy']*100:.0f}% of {w['seconds']:.1f} s x 2 CPUs = {w['busyCpuSeconds']:.1f} CPU s; "
      f"outside the processes below {w['otherCpuSeconds']:.1f} s")
for p in w["processes"]:
    threads = ", ".join(f"{k} {v:.1f}" for k, v in p["threads"].items() if v >= 0.2)
    print(f"    cpu: {p['label']:<10} {p['cpu']:6.1f} s  ({threads})")
PY
}

# psmig_measure KIND VM TRANSPORT RUN
psmig_measure() {
  local kind=$1 vm=$2 transport=$3 run=$4 log_from error="" ok=ok
  rm -f "$work/cpu.json"
  log_from=$(wc -l < "$work/agent.log")
  start_vm "$A" in_a "$vm" || { record "$kind" "$run" FAIL "source QEMU did not start: $(tail -n1 "$work/qemu.log")" "" "" "" ""; return; }
  if ! error=$(wait_serial "$A/$vm.serial"); then
    record "$kind" "$run" FAIL "source guest: $error" "" "" "" ""; stop_vm "$A" "$vm"; return
  fi
  echo "  $kind (run $run): source guest ready ($(grep -m1 '^FILLED' "$A/$vm.serial")), migrating..."
  rm -f "$B/$vm.serial"
  in_a dotnet "$psmig_dir/psmig.dll" migrate --inventory "$work/lab.yaml" --vm "$vm" --destination b \
    --transport "$transport" --connections "$channels" --pki "$work/pki" --run-dir "$A" \
    --no-inventory-update --timeout "$MIGRATE_TIMEOUT" --json > "$work/result.json" 2>"$work/migrate.err" &
  local client=$!
  start_watch "src-qemu=$A/$vm.pid" "dst-qemu=$B/$vm.incoming.pid" "dst-qemu=$B/$vm.pid" --pid "psmig=$client" --pid "agent=$agent_pid"
  local rc=0
  wait "$client" || rc=$?
  stop_watch
  local status wall qemu_ms nbytes down
  status=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("status"))' "$work/result.json" 2>/dev/null || echo none)
  read -r wall qemu_ms nbytes down < <(python3 - "$work/result.json" <<'PY' || echo "   "
import json, sys
d = json.load(open(sys.argv[1]))
mbps = d.get("throughputMBps") or 0
qemu = round(d["bytes"] / 1e3 / mbps) if mbps else None   # bytes / (MB/s) = us / 1000
print(d.get("totalTimeMs"), qemu, d.get("bytes"), d.get("downtimeMs"))
PY
)
  if [ "$rc" -ne 0 ] || [ "$status" != "Completed" ]; then
    ok=FAIL
    error="psmig migrate exit $rc, status $status: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error"))' "$work/result.json" 2>/dev/null || tail -n2 "$work/migrate.err")"
  elif ! error=$(wait_serial "$B/$vm.serial"); then
    ok=FAIL; error="destination guest: $error"
  else
    error=""
  fi
  record "$kind" "$run" "$ok" "$error" "$wall" "$qemu_ms" "$nbytes" "$down"
  echo "  $kind (run $run): $ok ${error:+- $error }wall ${wall:-?} ms, qemu ${qemu_ms:-?} ms, downtime ${down:-?} ms;" \
       "destination: $(grep '^MEMCHECK' "$B/$vm.serial" 2>/dev/null | tail -n1)"
  python3 -c 'import json,sys; [print("    warning:", w) for w in json.load(open(sys.argv[1])).get("warnings", [])]' "$work/result.json" 2>/dev/null || true
  print_cpu
  agent_lines "$log_from"
  stop_vm "$B" "$vm"
  stop_vm "$A" "$vm"   # psmig quits the source; this is for a failed migration
}

# socat_measure RUN: both QEMUs by hand, a socat relay in host a.
socat_measure() {
  local run=$1 vm=plain error="" ok=ok
  rm -f "$work/cpu.json"
  start_vm "$A" in_a "$vm" || { record socat "$run" FAIL "source QEMU did not start: $(tail -n1 "$work/qemu.log")" "" "" "" ""; return; }
  if ! error=$(wait_serial "$A/$vm.serial"); then
    record socat "$run" FAIL "source guest: $error" "" "" "" ""; stop_vm "$A" "$vm"; return
  fi
  echo "  socat (run $run): source guest ready ($(grep -m1 '^FILLED' "$A/$vm.serial")), migrating..."
  # shellcheck disable=SC2086 # SOCAT_OPTS is a word list
  in_a socat $socat_opts "TCP-LISTEN:$RELAY_PORT,bind=127.0.0.1,fork,reuseaddr" "TCP:$MIG_B:$INCOMING_PORT" 2>>"$work/socat.log" &
  local socat_pid=$!
  pids+=("$socat_pid")
  start_watch "src-qemu=$A/$vm.pid" "dst-qemu=$B/$vm.pid" --pid "socat=$socat_pid"
  local t0; t0=$(now_ms)
  if ! start_vm "$B" in_b "$vm" -S -incoming defer; then
    ok=FAIL; error="destination QEMU did not start: $(tail -n1 "$work/qemu.log")"
  fi
  if [ "$ok" = ok ]; then
    python3 "$here/qmp.py" relay-migrate --src "$A/$vm.qmp" --dst "$B/$vm.qmp" --listen "tcp:$MIG_B:$INCOMING_PORT" \
      --uri "tcp:127.0.0.1:$RELAY_PORT" --channels "$channels" --timeout "$MIGRATE_TIMEOUT" > "$work/result.json" 2>"$work/relay.err" || true
  fi
  local t1; t1=$(now_ms)
  stop_watch
  # socat forks a child per connection: their CPU is what the kernel adds to the parent's
  # cutime/cstime once they exit (QEMU closed the connections; give the children a moment).
  for _ in $(seq 1 20); do [ -z "$(pgrep -P "$socat_pid" 2>/dev/null)" ] && break; sleep 0.1; done
  local children_cpu
  children_cpu=$(awk -v t="$(getconf CLK_TCK)" '{ print ($16 + $17) / t }' "/proc/$socat_pid/stat" 2>/dev/null || echo 0)
  kill "$socat_pid" 2>/dev/null || true
  wait "$socat_pid" 2>/dev/null || true
  python3 - "$work/cpu.json" "$children_cpu" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
w["processes"].append({"label": "socat", "pid": 0, "comm": "socat (per-connection children)", "cpu": float(sys.argv[2]), "threads": {}})
w["otherCpuSeconds"] = round(w["otherCpuSeconds"] - float(sys.argv[2]), 2)
json.dump(w, open(sys.argv[1], "w"))
PY
  local state wall="" qemu_ms="" nbytes="" down=""
  if [ "$ok" = ok ]; then
    state=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["status"], d.get("destination"))' "$work/result.json" 2>/dev/null || echo "none none")
    read -r qemu_ms nbytes down < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d.get("totalTimeMs"), d.get("bytes"), (d.get("downtimeMs") or 0) + (d.get("commitMs") or 0))' "$work/result.json" 2>/dev/null || echo "  ")
    wall=$(( t1 - t0 ))
    if [ "$state" != "completed running" ]; then
      ok=FAIL; error="relay migration: $state $(cat "$work/relay.err" | tail -n2)"
    elif ! error=$(wait_serial "$B/$vm.serial"); then
      ok=FAIL; error="destination guest: $error"
    else
      error=""
    fi
  fi
  record socat "$run" "$ok" "$error" "$wall" "$qemu_ms" "$nbytes" "$down"
  echo "  socat (run $run): $ok ${error:+- $error }wall ${wall:-?} ms, qemu ${qemu_ms:-?} ms, downtime ${down:-?} ms;" \
       "destination: $(grep '^MEMCHECK' "$B/$vm.serial" 2>/dev/null | tail -n1)"
  print_cpu
  stop_vm "$B" "$vm"
  stop_vm "$A" "$vm"
}

echo "migrating a ${mem} MiB test guest (dirty=${dirty} MiB/s, KVM) a -> b over the lab's 'mig' link (veth, MTU 9000)," \
     "${channels} multifd channels, ${runs} run(s); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "QEMU: $(qemu-system-x86_64 --version | head -n1); socat relay options: ${socat_opts:-defaults}"
for run in $(seq 1 "$runs"); do
  for kind in $only; do
    case "$kind" in
      direct)     psmig_measure direct plain direct "$run" ;;
      engine)     psmig_measure engine plain engine "$run" ;;
      socat)      socat_measure "$run" ;;
      direct-tls) psmig_measure direct-tls tls direct "$run" ;;
      engine-tls) psmig_measure engine-tls tls engine "$run" ;;
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
print(f"{mem} MiB guest, dirty={dirty} MiB/s, {channels} channels, lab a -> b over 'mig'")
head = (f"{'measurement':<11} {'run':>3} {'ok':<4} {'wall s':>7} {'qemu s':>7} {'MB/s':>6} {'downtime ms':>11}   "
        f"{'CPU s: src-vcpu':>15} {'src-mig':>7} {'dst-qemu':>8} {'psmig':>6} {'agent':>6} {'socat':>6} {'other':>6} {'busy':>5}")
print(head)
print("-" * len(head))
for r in rows:
    mbps = r["bytes"] / 1e3 / r["qemuMs"] if r["bytes"] and r["qemuMs"] else None
    cpu = [r["cpu"].get(l) for l in labels]
    print(f"{r['kind']:<11} {r['run']:>3} {'ok' if r['ok'] else 'FAIL':<4} {fmt(r['wallMs'] and r['wallMs']/1000, '7.2f'):>7} "
          f"{fmt(r['qemuMs'] and r['qemuMs']/1000, '7.2f'):>7} {fmt(mbps, '6.0f'):>6} {fmt(r['downtimeMs'], '11.0f'):>11}   "
          + f"{fmt(cpu[0], '15.1f'):>15} " + " ".join(f"{fmt(c, '.1f'):>{w}}" for c, w in zip(cpu[1:], (7, 8, 6, 6, 6)))
          + f" {fmt(r['other'], '.1f'):>6} {fmt(r['busy'] and r['busy']*100, '.0f'):>4}%")
    if r["error"]:
        print(f"{'':<16}{r['error']}")

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
ratio("engine", "direct", 1.05)
ratio("engine", "socat")
ratio("direct", "socat")
ratio("engine-tls", "direct-tls", 1.0, "   engine TLS / QEMU's TLS")
failed = [r for r in rows if not r["ok"]]
print(f"\n{len(rows) - len(failed)} of {len(rows)} migrations verified (destination MEMCHECK OK after the move)"
      + (f"; FAILED: {', '.join(r['kind'] + ' run ' + str(r['run']) for r in failed)}" if failed else ""))
sys.exit(1 if failed else 0)
PY
