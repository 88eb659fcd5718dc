#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
<#
.SYNOPSIS
    A validation suite for a migration cluster, data-driven from its inventory: copy it, run it on each host
    (from a scheduled runbook, or after maintenance), and read the failures.

.DESCRIPTION
    For the host it runs on (-ThisHost, default: this machine's name), against every other host of its cluster:
      - the other host's agent answers over each network the two share, the migration network among them;
      - each network carries at least -Tolerance of what the inventory says it carries (-Seconds per test);
      - every VM of this host is ready to move to at least one other host of its cluster (Test-VMMigration:
        plan, agent, QEMU or libvirt, memory, the VM itself, MTU).
    Nothing moves. Every failure says what was found and what to do.

        $suite = New-PesterContainer -Path ./Cluster.Tests.ps1 -Data @{ InventoryPath = '/etc/psmigration/inventory.yaml' }
        Invoke-Pester -Container $suite -Output Detailed

    It needs the Migration module (on $env:PSModulePath, or imported beforehand), this host's certificate in
    -PkiPath, and the agents running on the other hosts.
#>
param(
    [string] $InventoryPath = $env:PSMIGRATION_INVENTORY,
    [string] $ThisHost = [System.Net.Dns]::GetHostName(),
    [string] $PkiPath = '/etc/psmigration/pki',
    [string] $RunDirectory = '/run/psmigration',
    # A network passes when it carries at least this share of the inventory's speed.
    [double] $Tolerance = 0.5,
    [int] $Seconds = 2
)

BeforeDiscovery {
    if (-not (Get-Module Migration)) { Import-Module Migration -ErrorAction Stop }
    $source = Get-MigrationHost -Name $ThisHost -InventoryPath $InventoryPath -ErrorAction Stop
    $Pairs = @(Get-MigrationHost -InventoryPath $InventoryPath | Where-Object { $_.Name -ne $source.Name -and $_.Cluster -eq $source.Cluster } |
        ForEach-Object { @{ Source = $source.Name; Destination = $_.Name } })
    $Vms = @(Get-MigrationVM -HostName $source.Name -InventoryPath $InventoryPath | ForEach-Object { @{ Vm = $_.Name; Source = $source.Name } })
}

BeforeAll {
    if (-not (Get-Module Migration)) { Import-Module Migration -ErrorAction Stop }
    $Common = @{ InventoryPath = $InventoryPath; PkiPath = $PkiPath }
}

Describe 'From <Source> to <Destination>' -ForEach $Pairs {
    BeforeAll {
        # One measurement per shared network, shared by the tests below.
        $Measured = @(Test-MigrationNetwork -Source $Source -Destination $Destination -Seconds $Seconds @Common -ErrorAction SilentlyContinue)
    }

    It 'shares a migration network' {
        $Measured | Where-Object Role -EQ 'migration' | Should -Not -BeNullOrEmpty -Because "$Source and $Destination should share a network with role migration"
    }

    It "<Destination>'s agent answers over every shared network" {
        foreach ($result in $Measured) {
            $result.Reachable | Should -BeTrue -Because "the agent of $Destination at $($result.DestinationAddress) should answer over '$($result.Network)': $($result.Error)"
        }
    }

    It "every shared network carries what the inventory says (at least $([math]::Round($Tolerance * 100)) %)" {
        foreach ($result in $Measured | Where-Object Reachable) {
            $result.Error | Should -BeNullOrEmpty
            $result.ThroughputGbps | Should -BeGreaterOrEqual ($Tolerance * $result.InventoryGbps) -Because "'$($result.Network)' is $($result.InventoryGbps) Gbps in the inventory"
            $result.CarrierInterface | Should -Be $result.SourceInterface -Because "the bytes for '$($result.Network)' should leave by the interface the inventory names"
        }
    }
}

Describe '<Vm> on <Source>' -ForEach $Vms {
    It 'is ready to move to at least one other host of its cluster' {
        $readiness = @(Test-VMMigration -Name $Vm -RunDirectory $RunDirectory @Common)
        $why = ($readiness | ForEach-Object { "-> $($_.DestinationHost): " + (($_.Checks | Where-Object { -not $_.Passed }) -join '; ') }) -join ' | '
        @($readiness | Where-Object Ready).Count | Should -BeGreaterThan 0 -Because "no host can take $Vm now: $why"
    }
}
