#!/usr/bin/env bash
# Installs PowerShell and Pester at pinned versions into .tools/ of this checkout, where they are missing,
# from the NuGet registry (nothing else is downloaded), and prints the pwsh to run:
#   .tools/pwsh/pwsh                      the PowerShell dotnet tool, 7.6.9
#   .tools/Modules/Pester/5.7.1/          Pester (put .tools/Modules on $env:PSModulePath; build.ps1 does)
# Needs the .NET SDK. Exits 1, saying why, when it cannot install them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$here/.tools"
pwsh_version=7.6.9
pester_version=5.7.1
pwsh="$tools/pwsh/pwsh"
pester="$tools/Modules/Pester/$pester_version"

if [ ! -x "$pwsh" ]; then
  echo "installing PowerShell $pwsh_version (dotnet tool) into $tools/pwsh" >&2
  rm -rf "$tools/pwsh"
  if ! out="$(dotnet tool install PowerShell --version "$pwsh_version" --tool-path "$tools/pwsh" 2>&1)"; then
    printf '%s\n' "$out" | tail -n 5 >&2
    echo "install-pwsh.sh: could not install PowerShell $pwsh_version" >&2
    exit 1
  fi
fi

if [ ! -f "$pester/Pester.psd1" ]; then
  echo "installing Pester $pester_version into $tools/Modules" >&2
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  # A throwaway project whose only job is to download the package (PackageDownload: no reference, no build).
  cat > "$scratch/download.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$pester_version]" /></ItemGroup>
</Project>
XML
  if ! out="$(dotnet restore "$scratch/download.csproj" --packages "$scratch/packages" 2>&1)"; then
    printf '%s\n' "$out" | tail -n 5 >&2
    echo "install-pwsh.sh: could not download Pester $pester_version" >&2
    exit 1
  fi
  rm -rf "$pester"
  mkdir -p "$pester"
  cp -r "$scratch/packages/pester/$pester_version/tools/." "$pester/"
fi

"$pwsh" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' >/dev/null || { echo "install-pwsh.sh: $pwsh does not run" >&2; exit 1; }
echo "$pwsh"
