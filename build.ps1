#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the Migration module.

.DESCRIPTION
    Build    dotnet build PSMigration.sln, then lays out a loadable module folder:
             out/Migration/<ModuleVersion>/ with Migration.psd1, Migration.format.ps1xml, Migration.dll,
             every assembly it needs at run time (PSMigration.Core/Engine/Qemu, YamlDotNet) and en-US/
             (never System.Management.Automation.dll: PowerShell brings its own). The layout is
             packaging/Migration.Module.proj's (target LayoutModule), the same as the package's.
             Where PlatyPS is installed, the MAML help en-US/Migration.dll-Help.xml is first
             regenerated from docs/.
    Test     Build, dotnet test PSMigration.sln, then the Pester suite (Task Pester).
    Pester   Build, then the Pester 5 suite in tests/pester against the laid-out folder; ends with
             "Pester totals - Failed: N, Passed: N, Skipped: N". Pester comes from $env:PSModulePath, or
             from .tools/Modules where scripts/install-pwsh.sh put it. Without Pester 5 the suite is
             skipped with a warning, or fails when $env:CI is 'true'.
    Package  dotnet pack packaging/Migration.Module.proj, the same step as scripts/package.sh (which
             needs no PowerShell): the module folder, out/Migration.<ModuleVersion>.nupkg (PowerShell
             Gallery layout, for Install-PSResource / Install-Module) and out/psmig.<Version>.nupkg
             (the psmig dotnet tool), each file listed; then out/Migration-<ModuleVersion>.zip. Where
             PSResourceGet is installed, the .nupkg is also saved back from out/ as a check.

    Exits non-zero on any failure. Honours PSMIG_ARTIFACTS (see Directory.Build.props) for where
    dotnet puts its build output.

.EXAMPLE
    ./build.ps1
    ./build.ps1 -Task Test
    ./build.ps1 -Task Package -Configuration Release
    ./build.ps1 -Task Pester
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Pester', 'Package')]
    [string] $Task = 'Build',

    [string] $Configuration = 'Release'
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$RepoRoot = $PSScriptRoot
$Solution = Join-Path $RepoRoot 'PSMigration.sln'
$PackagingProject = Join-Path $RepoRoot 'packaging/Migration.Module.proj'
$Manifest = Join-Path $RepoRoot 'Migration.psd1'
$Out = Join-Path $RepoRoot 'out'
# Where scripts/install-pwsh.sh installs Pester: found like any other module.
$ToolModules = Join-Path $RepoRoot '.tools/Modules'
if ((Test-Path -LiteralPath $ToolModules) -and ($env:PSModulePath -split [IO.Path]::PathSeparator) -notcontains $ToolModules) {
    $env:PSModulePath = $ToolModules + [IO.Path]::PathSeparator + $env:PSModulePath
}

function Invoke-Native {
    # Runs a native command and fails the build when it fails.
    param([Parameter(Mandatory)] [string] $Command, [string[]] $Arguments = @())
    Write-Host "> $Command $($Arguments -join ' ')" -ForegroundColor Cyan
    & $Command @Arguments | Out-Host   # shown, not returned: callers return values of their own
    if ($LASTEXITCODE -ne 0) { throw "$Command $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-ModuleVersion {
    $version = (Import-PowerShellDataFile -LiteralPath $Manifest).ModuleVersion
    if (-not $version) { throw "Migration.psd1 has no ModuleVersion" }
    $version
}

function Get-ModuleFolder { Join-Path $Out "Migration/$(Get-ModuleVersion)" }

function Update-ExternalHelp {
    # Returns the en-US/ folder to ship. Where PlatyPS exists, the MAML is regenerated from docs/*.md
    # into out/help/en-US (with the committed about_ topic); the committed en-US/ stays as the repo's
    # generator made it (HelpCoverageTests keeps it in step with docs/). Without PlatyPS: en-US/ as committed.
    $committed = Join-Path $RepoRoot 'en-US'
    $platyPS = Get-Module -ListAvailable -Name platyPS | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $platyPS) {
        Write-Host 'PlatyPS is not installed: en-US/ is packaged as committed.' -ForegroundColor DarkGray
        return $committed
    }
    Import-Module -Name $platyPS.Path -Force
    $generated = Join-Path $Out 'help/en-US'
    if (Test-Path -LiteralPath $generated) { Remove-Item -LiteralPath $generated -Recurse -Force }
    New-Item -ItemType Directory -Path $generated -Force | Out-Null
    New-ExternalHelp -Path (Join-Path $RepoRoot 'docs') -OutputPath $generated -Force | Out-Null
    Copy-Item -LiteralPath (Join-Path $committed 'about_Migration.help.txt') -Destination $generated
    Write-Host "help regenerated from docs/ with PlatyPS $($platyPS.Version) into $generated" -ForegroundColor Green
    $generated
}

function Test-ModuleFolder {
    # The layout must load as a module: Test-ModuleManifest checks RootModule, FormatsToProcess and the rest.
    $folder = Get-ModuleFolder
    if (Test-Path -LiteralPath (Join-Path $folder 'System.Management.Automation.dll')) {
        throw 'System.Management.Automation.dll must not be in the module folder'
    }
    $module = Test-ModuleManifest -Path (Join-Path $folder 'Migration.psd1')
    Write-Host "Module $($module.Name) $($module.Version) laid out in $folder" -ForegroundColor Green
    $folder
}

function Invoke-Build {
    if (-not (Test-Path -LiteralPath $Solution)) { throw "There is no $Solution" }
    Invoke-Native dotnet @('build', $Solution, '-c', $Configuration, '-nologo')
    $help = Update-ExternalHelp
    # The module folder, laid out (and its files listed) by the packaging project: one layout for
    # Build and Package. It copies the manifest, the format file and en-US/ from the repository root
    # and the assemblies from publishing src/PSMigration.PowerShell.
    Invoke-Native dotnet @('msbuild', $PackagingProject, '-restore', '-t:LayoutModule;ShowModuleFolder', "-p:Configuration=$Configuration", "-p:PackageOut=$Out", "-p:HelpDirectory=$help", '-nologo', '-tl:off')
    Test-ModuleFolder
}

function Invoke-Test {
    Invoke-Build | Out-Null
    Invoke-Native dotnet @('test', $Solution, '-c', $Configuration, '-nologo', '--no-build')
    Invoke-PesterSuite
}

function Invoke-PesterSuite {
    $folder = Invoke-Build
    $pester = Get-Module -ListAvailable -Name Pester | Where-Object Version -GE ([version] '5.0.0') |
        Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pester) {
        $why = 'Pester 5 is missing, so tests/pester did not run: bash scripts/install-pwsh.sh (or Install-PSResource Pester).'
        if ($env:CI -eq 'true') { throw "CI=true, so the Pester suite must run, but $why" }
        Write-Warning $why
        return
    }
    Import-Module -Name $pester.Path -Force
    $saved = $env:PSMIGRATION_MODULE
    try {
        $env:PSMIGRATION_MODULE = $folder
        $configuration = New-PesterConfiguration
        $configuration.Run.Path = Join-Path $RepoRoot 'tests/pester'
        $configuration.Run.PassThru = $true
        $configuration.Output.Verbosity = 'Detailed'
        $result = Invoke-Pester -Configuration $configuration
    }
    finally {
        $env:PSMIGRATION_MODULE = $saved
    }
    # One line in the form tests/run.sh sums with dotnet test's.
    Write-Host ("Pester totals - Failed: {0}, Passed: {1}, Skipped: {2}, Total: {3} (Pester {4})" -f
        $result.FailedCount, $result.PassedCount, $result.SkippedCount, $result.TotalCount, $pester.Version)
    if ($result.Result -ne 'Passed' -or $result.FailedCount -gt 0) {
        throw "Pester: $($result.FailedCount) failed, $($result.PassedCount) passed"
    }
}

function Show-ArchiveEntries([string] $Path) {
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $archive = [System.IO.Compression.ZipFile]::OpenRead($Path)
    try {
        Write-Host $Path -ForegroundColor Green
        $archive.Entries | Sort-Object FullName | ForEach-Object { Write-Host ("  {0,10}  {1}" -f $_.Length, $_.FullName) }
    }
    finally {
        $archive.Dispose()
    }
}

function Invoke-Package {
    $help = Update-ExternalHelp
    # The same step as scripts/package.sh: lays out the module folder, packs it and psmig, lists them.
    Invoke-Native dotnet @('pack', $PackagingProject, '-c', $Configuration, "-p:PackageOut=$Out", "-p:HelpDirectory=$help", '-nologo', '-tl:off')
    $folder = Test-ModuleFolder
    $version = Get-ModuleVersion
    $package = Join-Path $Out "Migration.$version.nupkg"
    if (-not (Test-Path -LiteralPath $package)) { throw "The package step made no $package" }

    # The zip holds Migration/<version>/..., ready to unpack into a folder of $env:PSModulePath.
    $zip = Join-Path $Out "Migration-$version.zip"
    if (Test-Path -LiteralPath $zip) { Remove-Item -LiteralPath $zip -Force }
    Compress-Archive -Path (Split-Path -Parent $folder) -DestinationPath $zip
    Show-ArchiveEntries $zip

    # Where PSResourceGet is installed, take the package back the way Install-PSResource does: out/ as
    # a local repository, Save-PSResource into a scratch folder, and the saved manifest must load.
    if (-not (Get-Command Save-PSResource -ErrorAction SilentlyContinue)) {
        Write-Host 'PSResourceGet is not installed: the .nupkg was not installed back as a check.' -ForegroundColor DarkGray
        return
    }
    $name = "PSMigrationLocal$PID"
    $scratch = Join-Path ([System.IO.Path]::GetTempPath()) "psmigration-package-$PID"
    Register-PSResourceRepository -Name $name -Uri $Out -Trusted
    try {
        New-Item -ItemType Directory -Path $scratch -Force | Out-Null
        Save-PSResource -Name Migration -Version $version -Repository $name -Path $scratch -TrustRepository
        $saved = Test-ModuleManifest -Path (Join-Path $scratch "Migration/$version/Migration.psd1")
        Write-Host "Save-PSResource took $($saved.Name) $($saved.Version) from $package" -ForegroundColor Green
    }
    finally {
        Unregister-PSResourceRepository -Name $name
        Remove-Item -LiteralPath $scratch -Recurse -Force -ErrorAction SilentlyContinue
    }
}

try {
    Push-Location -LiteralPath $RepoRoot
    switch ($Task) {
        'Build' { Invoke-Build | Out-Null }
        'Test' { Invoke-Test }
        'Pester' { Invoke-PesterSuite }
        'Package' { Invoke-Package }
    }
}
catch {
    Write-Host "build.ps1 $Task failed: $($_.Exception.Message)" -ForegroundColor Red
    if ($_.ScriptStackTrace) { Write-Host $_.ScriptStackTrace -ForegroundColor DarkGray }
    exit 1
}
finally {
    Pop-Location
}
exit 0
