#!/usr/bin/env bash
# Runs every test: xunit (Core, CLI, the compiled cmdlets), and the Pester suites where pwsh exists.
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
# and the demo need QEMU and gcc/ld for the test guest (tests/guest); the libvirt tests run a real
# libvirtd per lab host (Debian's libvirt-daemon-system, its QEMU driver, and virsh): install what is missing.
bash scripts/ensure-commands.sh "the lab, QEMU and libvirt tests" ip:iproute2 tc:iproute2 ping:iputils-ping iperf3:iperf3 socat:socat \
  qemu-system-x86_64:qemu-system-x86 gcc:gcc ld:binutils objcopy:binutils \
  libvirtd:libvirt-daemon-system libvirtd:libvirt-daemon-driver-qemu virsh:libvirt-clients

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
dotnet build PSMigration.sln -c Release --nologo -v minimal 2>&1 | tail -n 3
# One test project at a time: the lab's iperf3 runs must not starve the engine's timing tests of CPU.
dotnet test PSMigration.sln -c Release --no-build --nologo -m:1 2>&1 | tee "$log" || status=$?

if command -v pwsh >/dev/null; then
  pwsh -NoProfile -NonInteractive -File build.ps1 -Task Build -Configuration Release
  pwsh -NoProfile -NonInteractive -Command '
    if (-not (Get-Module -ListAvailable Pester | Where-Object Version -ge 5.0)) { Write-Host "Pester 5 not installed: Pester suites skipped"; exit 0 }
    $env:PSMIGRATION_MODULE = (Resolve-Path out/Migration/*).Path
    $r = Invoke-Pester tests/pester -PassThru -Output Detailed
    if ($r.FailedCount -gt 0) { exit 1 }' || status=1
else
  echo "pwsh not found: the Pester suites (tests/pester) need PowerShell 7.4+ and run through build.ps1 -Task Test"
fi

# One closing line for people and CI, summed over the test assemblies.
awk '/(Passed|Failed)! +- +Failed: / {
       gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit $status
