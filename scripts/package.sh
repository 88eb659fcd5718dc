#!/usr/bin/env bash
# Packages the Migration module and the psmig dotnet tool with dotnet alone (no PowerShell needed);
# build.ps1 -Task Package runs the same project, so both make the same packages:
#   scripts/package.sh [OUT] [CONFIGURATION]
# OUT (default: out/ at the repository root) gets Migration/<ModuleVersion>/ (the module folder),
# Migration.<ModuleVersion>.nupkg (for Install-Module / Install-PSResource) and psmig.<Version>.nupkg
# (dotnet tool install); every file of each is listed. Build output goes where dotnet puts it
# (PSMIG_ARTIFACTS if set, see Directory.Build.props).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/out}"
configuration="${2:-Release}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"   # the project resolves relative paths against packaging/, not here
exec dotnet pack "$here/packaging/Migration.Module.proj" -c "$configuration" -nologo -tl:off "-p:PackageOut=$out"
