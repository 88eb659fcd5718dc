#Requires -Version 7.4
<#
.SYNOPSIS
    The maintenance window of one host, unattended: empty it, patch it, bring its VMs back, and report.

.DESCRIPTION
    Copy it into a scheduled runbook. It runs on any host of the cluster (the host being patched, or a management
    host with its own host certificate): each migration runs on its VM's source host, through that host's agent.
      1. Suspend-MigrationHost -Drain: the host goes into maintenance (nothing is moved to it) and every VM moves off
         it as Get-MigrationPlan -FromHost plans them. A VM that cannot move stays, and is reported.
      2. The patch (-Patch, a placeholder you replace: the host is empty by then). If a VM is still on the host, the
         patch is skipped: nothing is patched under a running VM, unless -PatchWithVMsLeft.
      3. Resume-MigrationHost -Failback: the host takes VMs again, and those the drain moved come back (those moved
         elsewhere since stay where they are).
      4. The report: one object (and with -ReportPath, a JSON file) with what moved, what stayed, what came back and
         how long it took. The script ends with an error when the host was not patched or a VM did not come back, so
         a scheduler sees the failure.

        ./Invoke-HostPatch.ps1 -HostName kvm01 -InventoryPath /etc/psmigration/inventory.yaml -ReportPath ./kvm01.json
        ./Invoke-HostPatch.ps1 -HostName kvm01 -Patch { param($HostName) ssh root@$HostName 'apt-get -y upgrade && reboot' }

    Ctrl+C (or stopping the runbook) during a drain or a failback starts no new migration, cancels the running ones,
    and leaves every VM on one host, as the inventory says; run the script again to finish.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)] [string] $HostName,
    [string] $InventoryPath = $env:PSMIGRATION_INVENTORY,
    [string] $PkiPath = '/etc/psmigration/pki',
    [string] $RunDirectory = '/run/psmigration',
    # The patch itself, given the host's name; the placeholder only waits a moment.
    [scriptblock] $Patch = { param($HostName) Write-Verbose "Patching $HostName (a placeholder: nothing is changed)"; Start-Sleep -Seconds 1 },
    # Patch even when a VM could not be moved off the host.
    [switch] $PatchWithVMsLeft,
    [string] $ReportPath
)

$ErrorActionPreference = 'Stop'
if (-not (Get-Module Migration)) { Import-Module Migration }
$common = @{ InventoryPath = $InventoryPath; PkiPath = $PkiPath; RunDirectory = $RunDirectory }
$clock = [System.Diagnostics.Stopwatch]::StartNew()

# A VM that fails to move is an error record, not the end: the drain goes on, and the summary says what stayed.
$drain = Suspend-MigrationHost -Name $HostName -Drain @common -ErrorAction Continue -ErrorVariable drainErrors
$drainMinutes = $clock.Elapsed.TotalMinutes

$patched = $false
$patchError = $null
if ($drain.Remaining.Count -gt 0 -and -not $PatchWithVMsLeft) {
    $patchError = "not patched: $($drain.Remaining.Count) VM(s) are still on $HostName ($($drain.Remaining -join ', '))"
    Write-Warning $patchError
}
elseif ($PSCmdlet.ShouldProcess($HostName, 'Patch')) {
    try {
        & $Patch $HostName
        $patched = $true
    }
    catch {
        $patchError = "the patch failed: $_"
        Write-Warning $patchError
    }
}

$back = Resume-MigrationHost -Name $HostName -Failback @common -ErrorAction Continue -ErrorVariable failbackErrors

$report = [pscustomobject]@{
    Host          = $HostName
    Patched       = $patched
    PatchError    = $patchError
    Drained       = @($drain.Moved)
    LeftOnHost    = @($drain.Remaining)
    BroughtBack   = @($back.Moved)
    NotBroughtBack = @($back.Remaining)
    Notes         = @($drain.Notes) + @($back.Notes)
    Errors        = @($drainErrors + $failbackErrors | ForEach-Object { "$($_.TargetObject.Vm): $($_.Exception.Message)" })
    DrainMinutes  = [math]::Round($drainMinutes, 2)
    TotalMinutes  = [math]::Round($clock.Elapsed.TotalMinutes, 2)
}
if ($ReportPath) { $report | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $ReportPath }
$report
if (-not $patched -or $back.Remaining.Count -gt 0) {
    throw "The maintenance of $HostName is not complete: $(if ($patchError) { $patchError } else { "$($back.Remaining.Count) VM(s) did not come back ($($back.Remaining -join ', '))" })"
}
