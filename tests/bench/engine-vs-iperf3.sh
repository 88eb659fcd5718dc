#!/usr/bin/env bash
# Benchmark (not a test): the engine's synthetic throughput against iperf3 -P N over the same path,
# measured in one run, for N = 1, 4, 8, plaintext and TLS 1.3. Paths: loopback, and the lab's
# unshaped "mig" link between two namespace hosts (needs root; skipped otherwise).
# Prints one row per path and N: iperf3 Gbit/s, engine Gbit/s and ratio, engine TLS Gbit/s and
# ratio, and the CPU seconds (sender + agent) per GB moved with TLS.
#   usage: tests/bench/engine-vs-iperf3.sh [SECONDS]     (default 5 per measurement)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
seconds="${1:-5}"
command -v iperf3 >/dev/null || { echo "iperf3 is needed: apt-get install -y iperf3" >&2; exit 1; }

work="$(mktemp -d)"
lab=""
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$lab" ] && bash "$repo/tests/lab/lab.sh" down "$lab" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

dotnet build "$repo/src/PSMigration.Cli" -c Release -o "$work/psmig" --nologo -v quiet >/dev/null
psmig() { dotnet "$work/psmig/psmig.dll" "$@"; }
ticks=$(getconf CLK_TCK)

# CPU seconds a process has used so far (user + system).
cpu_of() { awk -v t="$ticks" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }

# json_field FILE EXPR: a number from a JSON document, via python3.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# measure PATHNAME RUN_A AGENT_PID SERVER_ADDR SOURCE DEST INVENTORY NETWORK
measure() {
  local name=$1 run_a=$2 agent=$3 server=$4 source=$5 dest=$6 inventory=$7 network=$8
  for n in 1 4 8; do
    $run_a iperf3 -c "$server" -P "$n" -t "$seconds" -J > "$work/iperf.json" 2>/dev/null || true
    local iperf; iperf=$(json "$work/iperf.json" "d['end']['sum_received']['bits_per_second']/1e9")
    $run_a dotnet "$work/psmig/psmig.dll" test-network -i "$inventory" -s "$source" -d "$dest" --pki "$work/pki" \
      --network "$network" --connections "$n" --seconds "$seconds" --encryption none --json > "$work/plain.json" 2>/dev/null || true
    local plain; plain=$(json "$work/plain.json" "d[0]['throughputGbps'] or 0")
    local agent_before; agent_before=$(cpu_of "$agent")
    /usr/bin/env time -f "%U %S" -o "$work/time" $run_a dotnet "$work/psmig/psmig.dll" test-network -i "$inventory" -s "$source" -d "$dest" \
      --pki "$work/pki" --network "$network" --connections "$n" --seconds "$seconds" --encryption tls --json > "$work/tls.json" 2>/dev/null || true
    local agent_after; agent_after=$(cpu_of "$agent")
    local tls; tls=$(json "$work/tls.json" "d[0]['throughputGbps'] or 0")
    local cpu; cpu=$(awk -v a="$agent_before" -v b="$agent_after" '{ print $1 + $2 + b - a }' "$work/time")
    python3 - "$name" "$n" "$iperf" "$plain" "$tls" "$cpu" "$seconds" <<'PY'
import sys
name, n, iperf, plain, tls, cpu, secs = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
gb = tls * secs / 8  # GB moved with TLS
print(f"{name:<9} {n:>2}  iperf3 {iperf:6.2f}  engine {plain:6.2f} ({plain/iperf:4.2f}x)  "
      f"engine+TLS {tls:6.2f} ({tls/iperf:4.2f}x)  TLS CPU {cpu/gb if gb else float('nan'):5.2f} s/GB")
PY
  done
}

echo "Gbit/s, ${seconds} s per measurement; ratios are engine / iperf3 at the same N"

# --- loopback: two addresses of lo stand for the hosts
cat > "$work/lo.yaml" <<'YAML'
networks:
  - { name: lo, cidr: 127.0.0.0/8, role: migration }
hosts:
  - name: src
    cpuThreads: 2
    interfaces: [{ name: lo, addresses: [127.0.0.1/8], speedGbps: 100 }]
  - name: dst
    cpuThreads: 2
    interfaces: [{ name: lo, addresses: [127.0.0.2/8], speedGbps: 100 }]
YAML
psmig cert init --inventory "$work/lo.yaml" --out "$work/pki" >/dev/null
# Started directly (not through the psmig function), so $! is the agent's own pid for CPU and memory.
dotnet "$work/psmig/psmig.dll" agent --inventory "$work/lo.yaml" --host dst --pki "$work/pki" 2>"$work/agent-lo.log" & pids+=($!)
iperf3 -s -B 127.0.0.2 >/dev/null 2>&1 & pids+=($!)
sleep 2
kill -0 "${pids[0]}" 2>/dev/null || { echo "the agent did not start:" >&2; cat "$work/agent-lo.log" >&2; exit 1; }
measure loopback "" "${pids[0]}" 127.0.0.2 src dst "$work/lo.yaml" lo

# Agent memory while receiving 20 GB or more over 8 channels (plaintext: the fastest, so the most buffering).
psmig test-network -i "$work/lo.yaml" -s src -d dst --pki "$work/pki" --network lo --connections 8 \
  --seconds "$(( seconds > 8 ? seconds : 8 ))" --encryption none --json > "$work/mem.json" 2>/dev/null || true
received=$(json "$work/mem.json" "round((d[0]['throughputGbps'] or 0) * $(( seconds > 8 ? seconds : 8 )) / 8, 1)")
peak=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/${pids[0]}/status")
echo "agent memory: peak RSS ${peak} MiB after receiving ~${received} GB over 8 channels (target < 200 MB)"

# --- the lab's unshaped link, between two namespace hosts
if bash "$repo/tests/lab/lab.sh" check >/dev/null 2>&1; then
  lab="psmbench$$"
  bash "$repo/tests/lab/lab.sh" up "$lab" >/dev/null
  bash "$repo/tests/lab/lab.sh" inventory "$lab" > "$work/lab.yaml"
  rm -rf "$work/pki" && psmig cert init --inventory "$work/lab.yaml" --out "$work/pki" >/dev/null
  ip netns exec "$lab-b" dotnet "$work/psmig/psmig.dll" agent --inventory "$work/lab.yaml" --host b --pki "$work/pki" 2>"$work/agent-lab.log" & pids+=($!)
  ip netns exec "$lab-b" iperf3 -s -B 198.51.100.2 >/dev/null 2>&1 & pids+=($!)
  sleep 2
  agent_pid=$(pgrep -f "psmig.dll agent --inventory $work/lab.yaml" | head -1)
  measure "lab mig" "ip netns exec $lab-a" "$agent_pid" 198.51.100.2 a b "$work/lab.yaml" mig
else
  echo "lab skipped: $(bash "$repo/tests/lab/lab.sh" check 2>&1 | head -1)"
fi
