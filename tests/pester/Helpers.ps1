# Shared by the Pester suites (dot-sourced in their BeforeAll): imports the module from the laid-out folder
# ($env:PSMIGRATION_MODULE, default out/Migration/<ModuleVersion>) and gives each suite its helpers.

$RepoRoot = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '../..')).ProviderPath
$ManifestData = Import-PowerShellDataFile -LiteralPath (Join-Path $RepoRoot 'Migration.psd1')
$ModulePath = if ($env:PSMIGRATION_MODULE) { $env:PSMIGRATION_MODULE } else { "out/Migration/$($ManifestData.ModuleVersion)" }
if (-not [System.IO.Path]::IsPathRooted($ModulePath)) { $ModulePath = Join-Path $RepoRoot $ModulePath }
if (-not (Test-Path -LiteralPath (Join-Path $ModulePath 'Migration.psd1'))) {
    throw "No module at ${ModulePath}: run ./build.ps1 first or set `$env:PSMIGRATION_MODULE."
}
Import-Module (Join-Path $ModulePath 'Migration.psd1') -Force -ErrorAction Stop

$Sample = Join-Path $RepoRoot 'samples/inventory.yaml'

# A private copy of the sample inventory, for the tests that edit one.
function New-InventoryCopy([string] $Name = 'inventory.yaml') {
    $path = Join-Path $TestDrive $Name
    Copy-Item -LiteralPath $Sample -Destination $path -Force
    $path
}

# A copy of the sample whose 'mig' network is on loopback (127.0.100.0/24): to the module this machine is then kvm01
# (and kvm02), so a migration of web01 to kvm02 runs here, not through kvm01's agent.
function New-LoopbackInventoryCopy([string] $Name = 'loopback.yaml') {
    $path = Join-Path $TestDrive $Name
    (Get-Content -LiteralPath $Sample -Raw).Replace('198.51.100.', '127.0.100.') | Set-Content -LiteralPath $path -NoNewline
    $path
}

# The drain records beside an inventory file (.NAME.drained-HOST.json).
function Get-DrainRecord([string] $InventoryPath) {
    Get-ChildItem -LiteralPath (Split-Path -Parent $InventoryPath) -Force -Filter ".$(Split-Path -Leaf $InventoryPath).drained-*.json"
}

function Get-Hash([string] $Path) { (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash }

# What a command writes to the host, not to a stream (ShouldProcess's "What if:" lines, and what a cmdlet
# tells after Ctrl+C): a transcript records it. The host wraps long lines at its width, so the lines are
# joined back into one text for matching.
function Get-HostText([scriptblock] $Command) {
    $file = Join-Path $TestDrive "host-$([guid]::NewGuid().ToString('N')).txt"
    $rendering = $PSStyle.OutputRendering
    $PSStyle.OutputRendering = 'PlainText'
    $null = Start-Transcript -LiteralPath $file -UseMinimalHeader
    try {
        $null = & $Command
    }
    finally {
        $null = Stop-Transcript
        $PSStyle.OutputRendering = $rendering
    }
    (Get-Content -LiteralPath $file) -join ''
}

# The error record a command throws with -ErrorAction Stop.
function Get-StopError([scriptblock] $Command) {
    try {
        $null = & $Command
    }
    catch {
        return $_
    }
    throw 'the command did not stop with an error'
}

# The completions TabExpansion2 offers at the end of a command line.
function Get-Completion([string] $Line) {
    (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText
}

# A private cluster PKI for the sample's hosts, for the commands that load this host's certificate.
function New-SamplePki {
    $pki = Join-Path $TestDrive 'pki'
    if (-not (Test-Path -LiteralPath (Join-Path $pki 'ca.crt'))) { New-MigrationCertificate -InventoryPath $Sample -Path $pki | Out-Null }
    $pki
}
