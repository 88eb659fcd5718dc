#!/usr/bin/env bash
# Benchmark (not a test): the module's speed in one PowerShell session on the generated 2,000-host /
# 20,000-VM inventory: Tab completion of a VM name (target < 100 ms) and a 10-VM pipeline into
# Get-MigrationPlan (target < 400 ms). Needs pwsh (tests/run.sh installs it into .tools/).
#   bash tests/bench/session-speed.sh [RUNS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
PATH="$repo/.tools/pwsh:$PATH"
command -v pwsh >/dev/null || { echo "session-speed.sh: pwsh not found (bash tests/run.sh installs it into .tools/pwsh)" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
bash "$repo/scripts/package.sh" "$out/pkg" >/dev/null
dotnet build "$here/PlanScale" -c Release -o "$out/bin" --nologo -v quiet >/dev/null
dotnet "$out/bin/PlanScale.dll" generate "$out/inventory.yaml" 2000 20000
pwsh -NoProfile -NonInteractive -File "$here/session-speed.ps1" -Module "$(echo "$out"/pkg/Migration/*)" -Inventory "$out/inventory.yaml" -Runs "${1:-7}"
