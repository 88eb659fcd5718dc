#!/usr/bin/env bash
# Benchmark (not a test): load + plan every VM of a generated inventory of 2,000 hosts and
# 20,000 VMs. Prints the time and the peak RSS; targets: under 2 s and under 500 MB.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
dotnet build "$here/PlanScale" -c Release -o "$out/bin" --nologo -v quiet >/dev/null
dotnet "$out/bin/PlanScale.dll" generate "$out/inventory.yaml" "${1:-2000}" "${2:-20000}"
for run in 1 2 3; do
  echo "run $run:"
  dotnet "$out/bin/PlanScale.dll" run "$out/inventory.yaml"
done
