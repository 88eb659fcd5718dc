#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages the Migration module.

.DESCRIPTION
    Build    dotnet build PSMigration.sln, then lays out a loadable module folder:
             out/Migration/<ModuleVersion>/ with Migration.psd1, Migration.format.ps1xml, Migration.dll,
             PSMigration.Core.dll, YamlDotNet.dll and en-US/ (never System.Management.Automation.dll:
             PowerShell brings its own).
    Test     Build, dotnet test PSMigration.sln, then the Pester 5 suite in tests/pester against the
             laid-out folder (when Pester 5 is installed).
    Package  Build, then out/Migration-<ModuleVersion>.zip and, when Publish-PSResource (or
             Publish-Module) is available, a .nupkg in the local file repository out/repository.

    Exits non-zero on any failure. Honours PSMIG_ARTIFACTS (see Directory.Build.props) for where
    dotnet puts its build output.

.EXAMPLE
    ./build.ps1
    ./build.ps1 -Task Test
    ./build.ps1 -Task Package -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string] $Task = 'Build',

    [string] $Configuration = 'Release'
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$RepoRoot = $PSScriptRoot
$Solution = Join-Path $RepoRoot 'PSMigration.sln'
$CmdletProject = Join-Path $RepoRoot 'src/PSMigration.PowerShell/PSMigration.PowerShell.csproj'
$Manifest = Join-Path $RepoRoot 'Migration.psd1'
$Out = Join-Path $RepoRoot 'out'

# What the module folder holds, besides en-US/: nothing else is copied.
$ModuleFiles = @('Migration.psd1', 'Migration.format.ps1xml', 'Migration.dll', 'PSMigration.Core.dll', 'YamlDotNet.dll')

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

function Invoke-Build {
    if (-not (Test-Path -LiteralPath $Solution)) { throw "There is no $Solution" }
    Invoke-Native dotnet @('build', $Solution, '-c', $Configuration, '-nologo')

    # Ask MSBuild where Migration.dll went (bin/ or $env:PSMIG_ARTIFACTS): no guessing of paths.
    $targetPath = (& dotnet msbuild $CmdletProject -nologo "-getProperty:TargetPath" "-p:Configuration=$Configuration" | Out-String).Trim()
    if ($LASTEXITCODE -ne 0 -or -not $targetPath) { throw "Could not find the build output of $CmdletProject" }
    $buildOutput = Split-Path -Parent $targetPath

    # Only this version: out/Migration is build output, and the zip takes all of it.
    $folder = Get-ModuleFolder
    $moduleRoot = Split-Path -Parent $folder
    if (Test-Path -LiteralPath $moduleRoot) { Remove-Item -LiteralPath $moduleRoot -Recurse -Force }
    New-Item -ItemType Directory -Path $folder -Force | Out-Null

    foreach ($file in $ModuleFiles) {
        # The manifest and the format file come from the repository root, the assemblies from the build.
        $source = if ($file -like '*.dll') { Join-Path $buildOutput $file } else { Join-Path $RepoRoot $file }
        if (-not (Test-Path -LiteralPath $source)) { throw "$file is missing: expected it at $source" }
        Copy-Item -LiteralPath $source -Destination $folder
    }

    $help = Join-Path $folder 'en-US'
    New-Item -ItemType Directory -Path $help -Force | Out-Null
    $repoHelp = Join-Path $RepoRoot 'en-US'
    if (Test-Path -LiteralPath $repoHelp) {
        Get-ChildItem -LiteralPath $repoHelp -Force | Copy-Item -Destination $help -Recurse -Force
    }

    if (Test-Path -LiteralPath (Join-Path $folder 'System.Management.Automation.dll')) {
        throw 'System.Management.Automation.dll must not be in the module folder'
    }
    # The layout must load as a module: Test-ModuleManifest checks RootModule, FormatsToProcess and the rest.
    $module = Test-ModuleManifest -Path (Join-Path $folder 'Migration.psd1')
    Write-Host "Module $($module.Name) $($module.Version) laid out in $folder" -ForegroundColor Green
    Get-ChildItem -LiteralPath $folder -Recurse -File | ForEach-Object { Write-Host "  $([System.IO.Path]::GetRelativePath($folder, $_.FullName))" }
    $folder
}

function Invoke-Test {
    $folder = Invoke-Build
    Invoke-Native dotnet @('test', $Solution, '-c', $Configuration, '-nologo', '--no-build')

    $pester = Get-Module -ListAvailable -Name Pester | Where-Object Version -GE ([version] '5.0.0') |
        Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pester) {
        Write-Warning 'Pester 5 is missing, so tests/pester did not run: Install-PSResource Pester (or Install-Module Pester -MinimumVersion 5.0.0).'
        return
    }
    Import-Module -Name $pester.Path -Force
    $saved = $env:PSMIGRATION_MODULE
    try {
        $env:PSMIGRATION_MODULE = $folder
        $result = Invoke-Pester -Path (Join-Path $RepoRoot 'tests/pester') -Output Detailed -PassThru
    }
    finally {
        $env:PSMIGRATION_MODULE = $saved
    }
    if ($result.Result -ne 'Passed' -or $result.FailedCount -gt 0) {
        throw "Pester: $($result.FailedCount) failed, $($result.PassedCount) passed"
    }
    Write-Host "Pester: $($result.PassedCount) passed, $($result.FailedCount) failed" -ForegroundColor Green
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
    $folder = Invoke-Build
    $version = Get-ModuleVersion

    # The zip holds Migration/<version>/..., ready to unpack into a folder of $env:PSModulePath.
    $zip = Join-Path $Out "Migration-$version.zip"
    if (Test-Path -LiteralPath $zip) { Remove-Item -LiteralPath $zip -Force }
    Compress-Archive -Path (Join-Path $Out 'Migration') -DestinationPath $zip
    Show-ArchiveEntries $zip

    $repository = Join-Path $Out 'repository'
    $publishPSResource = Get-Command Publish-PSResource -ErrorAction SilentlyContinue
    $publishModule = Get-Command Publish-Module -ErrorAction SilentlyContinue
    if (-not $publishPSResource -and -not $publishModule) {
        Write-Warning 'Neither Publish-PSResource nor Publish-Module is available: no .nupkg was made.'
        return
    }

    # Publishing wants a folder named like the module.
    $staging = Join-Path $Out 'publish/Migration'
    if (Test-Path -LiteralPath $staging) { Remove-Item -LiteralPath $staging -Recurse -Force }
    New-Item -ItemType Directory -Path $staging -Force | Out-Null
    Get-ChildItem -LiteralPath $folder -Force | Copy-Item -Destination $staging -Recurse -Force
    if (Test-Path -LiteralPath $repository) { Remove-Item -LiteralPath $repository -Recurse -Force }
    New-Item -ItemType Directory -Path $repository -Force | Out-Null

    $name = "PSMigrationLocal$PID"
    if ($publishPSResource) {
        Register-PSResourceRepository -Name $name -Uri $repository -Trusted
        try {
            Publish-PSResource -Path $staging -Repository $name -SkipDependenciesCheck
        }
        finally {
            Unregister-PSResourceRepository -Name $name
        }
    }
    else {
        Register-PSRepository -Name $name -SourceLocation $repository -PublishLocation $repository -InstallationPolicy Trusted
        try {
            Publish-Module -Path $staging -Repository $name
        }
        finally {
            Unregister-PSRepository -Name $name
        }
    }

    $packages = @(Get-ChildItem -LiteralPath $repository -Filter '*.nupkg')
    if ($packages.Count -eq 0) { throw "Publishing made no .nupkg in $repository" }
    foreach ($package in $packages) { Show-ArchiveEntries $package.FullName }
}

try {
    Push-Location -LiteralPath $RepoRoot
    switch ($Task) {
        'Build' { Invoke-Build | Out-Null }
        'Test' { Invoke-Test }
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
