#!/usr/bin/env bash
# Runs every test: xunit (Core, CLI, the compiled cmdlets, the module hosted in PowerShell, the engine, the lab,
# QEMU), build.ps1 -Task Build and -Task Package, and the Pester suite (tests/pester) in PowerShell 7.6.9.
# Installs what the tests need on a fresh machine. Ends with one line: "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null; then
  echo "tests/run.sh: the .NET 10 SDK (dotnet) is required" >&2
  exit 1
fi
if [ "$(dotnet --version | cut -d. -f1)" -lt 10 ] 2>/dev/null; then
  echo "tests/run.sh: the tests target .NET 10; this is the .NET SDK $(dotnet --version)" >&2
  exit 1
fi

# The lab tests (tests/lab) need ip and tc (iproute2), ping, iperf3 and socat; the migration tests
# and the demo need QEMU and gcc/ld for the test guest (tests/guest), the argument policy's tests qemu-img
# (an agent reads qcow2 backing chains with it), the unit check systemd-analyze; the libvirt tests run a real
# libvirtd per lab host (Debian's libvirt-daemon-system, its QEMU driver, and virsh): install what is missing.
bash scripts/ensure-commands.sh "the lab, QEMU and libvirt tests" ip:iproute2 tc:iproute2 ping:iputils-ping iperf3:iperf3 socat:socat \
  qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils gcc:gcc ld:binutils objcopy:binutils systemd-analyze:systemd \
  libvirtd:libvirt-daemon-system libvirtd:libvirt-daemon-driver-qemu virsh:libvirt-clients

# PowerShell 7.6.9 and Pester 5.7.1 (pinned, into .tools/, from the NuGet registry) for build.ps1, the Pester
# suites and the tests that host the module in pwsh (the lab runs samples/Cluster.Tests.ps1 in it).
status=0
if pwsh="$(bash scripts/install-pwsh.sh)"; then
  export PSMIG_PWSH="$pwsh"
else
  pwsh=""
  if [ "${CI:-}" = true ]; then
    echo "tests/run.sh: CI=true, so build.ps1 and the Pester suites must run, but PowerShell or Pester could not be installed" >&2
    status=1
  else
    echo "PowerShell or Pester could not be installed: build.ps1 and the Pester suites (tests/pester) do not run" >&2
  fi
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
dotnet build PSMigration.sln -c Release --nologo -v minimal 2>&1 | tail -n 3
# One test project at a time: the lab's iperf3 runs must not starve the engine's timing tests of CPU.
dotnet test PSMigration.sln -c Release --no-build --nologo -m:1 2>&1 | tee "$log" || status=$?

if [ -n "$pwsh" ]; then
  # build.ps1 for real, as a PowerShell user runs it: the module folder, the packages, then the Pester suite
  # against the laid-out module (it prints "Pester totals - ..." for the closing line).
  for task in Build Package; do
    "$pwsh" -NoProfile -NonInteractive -File build.ps1 -Task "$task" -Configuration Release > "$log.$task" 2>&1 || { cat "$log.$task"; status=1; }
    tail -n 1 "$log.$task"
  done
  "$pwsh" -NoProfile -NonInteractive -File build.ps1 -Task Pester -Configuration Release 2>&1 | tee -a "$log" || status=1
  rm -f "$log".*
fi

# CI keeps only the tail of this output: repeat each failed test with its message there, just above the total.
if grep -q -E '^ +Failed [^!]|\[-\] ' "$log"; then
  echo "--- failed tests (repeated from above) ---"
  grep -A 14 -E '^ +Failed [^!]|\[-\] ' "$log" | cut -c 1-300 | head -n 120 || true
fi

# One closing line for people and CI, summed over the test assemblies and the Pester suite.
awk '/(Passed!|Failed!|Pester totals) +- +Failed: / {
       gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit $status
