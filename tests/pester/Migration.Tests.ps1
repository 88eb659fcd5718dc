#Requires -Version 7.4
<#
    Pester 5 tests of the Migration module through its cmdlets, run against a laid-out module folder:
    $env:PSMIGRATION_MODULE (default: out/Migration/<ModuleVersion>, as build.ps1 lays it out; a relative
    path is taken from the repository root).

        ./build.ps1 -Task Test                      # builds, lays out the module, runs these
        $env:PSMIGRATION_MODULE = '/path/to/Migration/0.1.0'; Invoke-Pester tests/pester -Output Detailed
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'Helpers.ps1')
}

AfterAll {
    Remove-Module Migration -Force -ErrorAction SilentlyContinue
}

Describe 'The module' {
    It 'exports exactly the cmdlets of its manifest' {
        $exported = (Get-Command -Module Migration | Sort-Object Name).Name -join ','
        $exported | Should -BeExactly (($ManifestData.CmdletsToExport | Sort-Object) -join ',')
        $exported | Should -BeExactly 'Get-MigrationHost,Get-MigrationPlan,Get-MigrationPolicy,Get-MigrationVM,New-MigrationCertificate,Resume-MigrationHost,Set-MigrationPolicy,Start-VMMigration,Suspend-MigrationHost,Test-MigrationNetwork,Test-VMMigration'
    }

    It 'loads the version of its manifest from the module folder' {
        $module = Get-Module Migration
        $module.Version | Should -Be ([version] $ManifestData.ModuleVersion)
        $module.ModuleBase.TrimEnd('/', '\') | Should -Be (Resolve-Path -LiteralPath $ModulePath).ProviderPath.TrimEnd('/', '\')
    }

    It 'does not ship System.Management.Automation.dll' {
        Join-Path $ModulePath 'System.Management.Automation.dll' | Should -Not -Exist
        Join-Path $ModulePath 'YamlDotNet.dll' | Should -Exist
        Join-Path $ModulePath 'PSMigration.Core.dll' | Should -Exist
    }

    It 'marks the cmdlets that change things, and only them, as supporting -WhatIf' {
        (Get-Command Set-MigrationPolicy).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command Start-VMMigration).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command Get-MigrationPlan).Parameters.Keys | Should -Not -Contain 'WhatIf'
    }
}

Describe 'Help, completion and views' {
    It 'has full help with examples for every cmdlet, from the shipped MAML' {
        foreach ($name in $ManifestData.CmdletsToExport) {
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty -Because "$name needs a synopsis"
            @($help.Examples.Example).Count | Should -BeGreaterThan 0 -Because "$name needs examples"
        }
        (Get-Help Start-VMMigration -Parameter Transport).Name | Should -Be 'Transport'
    }

    It 'has the about topic' {
        Get-Help about_Migration | Out-String | Should -Match 'which NIC'
    }

    It 'completes VM, host and network names from the inventory' {
        $line = "Get-MigrationPlan -InventoryPath '$Sample' -VM we"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'web01'
        $line = "Start-VMMigration web01 -InventoryPath '$Sample' -Destination kvm0"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'kvm02'
        $line = "Get-MigrationPlan web01 -InventoryPath '$Sample' -Destination kvm02 -Network mi"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('mig')
    }

    It 'shows plans as a table by default and with their reasons in Format-List' {
        $plan = Get-MigrationPlan web01 -Destination kvm03 -InventoryPath $Sample
        $plan | Format-Table | Out-String | Should -Match 'lan'
        $plan | Format-List | Out-String | Should -Match 'Rejected'
    }
}

Describe 'Get-MigrationPlan' {
    It 'takes web01 from kvm01 to kvm02 over the migration network with one connection' {
        $plan = Get-MigrationPlan web01 -Destination kvm02 -InventoryPath $Sample
        $plan.GetType().FullName | Should -Be 'PSMigration.Core.Planning.MigrationPlan'
        $plan.Vm | Should -Be 'web01'
        $plan.SourceHost | Should -Be 'kvm01'
        $plan.Network | Should -Be 'mig'
        $plan.SourceInterface | Should -Be 'ens3f0'
        $plan.BandwidthGbps | Should -Be 10
        $plan.Connections | Should -Be 1
        $plan.Parallel | Should -BeFalse
    }

    It 'falls back to the LAN for kvm03 and says why not mig' {
        $plan = Get-MigrationPlan web01 -Destination kvm03 -InventoryPath $Sample
        $plan.Network | Should -Be 'lan'
        $plan.Rejected.Network | Should -Contain 'mig'
        ($plan.Rejected | Where-Object Network -EQ 'mig').Reason | Should -BeLike '*not on kvm03*'
        $plan.Reasons | Should -Not -BeNullOrEmpty
    }

    It 'binds its parameters by position and through the aliases Name and DestinationHost' {
        (Get-MigrationPlan web01 kvm02 -InventoryPath $Sample).Network | Should -Be 'mig'
        (Get-MigrationPlan -Name web01 -DestinationHost kvm02 -Inventory $Sample).Network | Should -Be 'mig'
    }

    It 'plans every VM piped from Get-MigrationVM, and reports the one already there without stopping' {
        $plans = Get-MigrationVM -InventoryPath $Sample | Get-MigrationPlan -Destination kvm02 -ErrorVariable err -ErrorAction SilentlyContinue
        @($plans).Count | Should -Be 2
        ($plans | Where-Object Vm -EQ 'web01').Network | Should -Be 'mig'
        ($plans | Where-Object Vm -EQ 'db01').Connections | Should -Be 4
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SameHost,*'
        $err[0].TargetObject | Should -Be 'build01'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'takes VM names from the pipeline' {
        $plans = 'web01', 'db01' | Get-MigrationPlan -Destination kvm02 -InventoryPath $Sample
        ($plans.Vm -join ',') | Should -Be 'web01,db01'
    }

    It 'uses $env:PSMIGRATION_INVENTORY when -InventoryPath is left out' {
        $saved = $env:PSMIGRATION_INVENTORY
        try {
            $env:PSMIGRATION_INVENTORY = $Sample
            (Get-MigrationPlan web01 -Destination kvm02).Network | Should -Be 'mig'
        }
        finally {
            $env:PSMIGRATION_INVENTORY = $saved
        }
    }

    It 'says so when there is no inventory at all' {
        $saved = $env:PSMIGRATION_INVENTORY
        try {
            $env:PSMIGRATION_INVENTORY = $null
            $plan = Get-MigrationPlan web01 -Destination kvm02 -ErrorVariable err -ErrorAction SilentlyContinue
            $plan | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'InventoryPathMissing,*'
        }
        finally {
            $env:PSMIGRATION_INVENTORY = $saved
        }
    }

    It 'resolves a relative -InventoryPath from the current location, and PowerShell drives' {
        Push-Location -LiteralPath $RepoRoot
        try {
            (Get-MigrationPlan web01 -Destination kvm02 -InventoryPath samples/inventory.yaml).Network | Should -Be 'mig'
        }
        finally {
            Pop-Location
        }
        $copy = New-InventoryCopy 'drive.yaml'
        (Get-MigrationPlan web01 -Destination kvm02 -InventoryPath 'TestDrive:/drive.yaml').InventoryPath | Should -Be $copy
    }

    It 'reports an unknown VM as ObjectNotFound' {
        $plan = Get-MigrationPlan nosuchvm -Destination kvm02 -InventoryPath $Sample -ErrorVariable err -ErrorAction SilentlyContinue
        $plan | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VMNotFound,*'
        $err[0].TargetObject | Should -Be 'nosuchvm'
    }

    It 'reports a malformed inventory as InvalidData with file:line:column' {
        $bad = Join-Path $TestDrive 'bad.yaml'
        Set-Content -LiteralPath $bad -Value @(
            'networks:'
            '  - name: lan'
            '    cidr: 192.0.2.0/24'
            '    role: managment'
            'hosts:'
            '  - name: kvm01'
            '    cpuThreads: 8'
            '    interfaces: []'
        )
        $plan = Get-MigrationPlan web01 -Destination kvm02 -InventoryPath $bad -ErrorVariable err -ErrorAction SilentlyContinue
        $plan | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InventoryInvalid,*'
        $err[0].Exception.Message | Should -Match 'bad\.yaml:4:\d+:'
        $err[0].Exception.Message | Should -BeLike '*did you mean*management*'
    }

    It 'shows a table with a Connections column' {
        $table = Get-MigrationPlan web01 -Destination kvm02 -InventoryPath $Sample | Format-Table | Out-String -Width 250
        $table | Should -Match 'Connections'
        $table | Should -Match 'Network'
        $table | Should -Match 'ens3f0'
        # The table is the default view, too.
        (Get-MigrationPlan web01 -Destination kvm02 -InventoryPath $Sample | Out-String -Width 250) | Should -Match 'Connections'
    }

    It 'answers "why not the other networks" in its list view' {
        $list = Get-MigrationPlan web01 -Destination kvm03 -InventoryPath $Sample | Format-List | Out-String -Width 250
        $list | Should -Match 'Rejected'
        $list | Should -Match 'mig: not on kvm03'
    }
}

Describe 'Get-MigrationVM and Get-MigrationHost' {
    It 'lists the VMs, filtered by name wildcards and by host' {
        ((Get-MigrationVM -InventoryPath $Sample).Name -join ',') | Should -Be 'web01,db01,build01'
        ((Get-MigrationVM 'w*', 'b*' -InventoryPath $Sample).Name -join ',') | Should -Be 'web01,build01'
        ((Get-MigrationVM -HostName kvm01 -InventoryPath $Sample).Name -join ',') | Should -Be 'web01,db01'
    }

    It 'reports a name or a wildcard that matches nothing, naming it, and lists the rest' {
        $vms = Get-MigrationVM 'zz*', 'web01' -InventoryPath $Sample -ErrorVariable err -ErrorAction SilentlyContinue
        $vms.Name | Should -Be 'web01'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VMNotFound,*'
        $err[0].TargetObject | Should -Be 'zz*'
        $err[0].Exception.Message | Should -BeLike "No VM in * matches 'zz*'"
        Get-MigrationVM 'nosuchvm' -InventoryPath $Sample -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VMNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'lists the hosts with wildcards and by cluster' {
        ((Get-MigrationHost -InventoryPath $Sample).Name -join ',') | Should -Be 'kvm01,kvm02,kvm03'
        ((Get-MigrationHost 'kvm0[12]' -InventoryPath $Sample).Name -join ',') | Should -Be 'kvm01,kvm02'
        @(Get-MigrationHost -Cluster prod -InventoryPath $Sample).Count | Should -Be 3
        (Get-MigrationHost kvm01 -InventoryPath $Sample | Format-Table | Out-String -Width 250) | Should -Match 'CpuThreads'
    }

    It 'lists the VMs of hosts piped from Get-MigrationHost' {
        $vms = Get-MigrationHost kvm01 -InventoryPath $Sample | Get-MigrationVM -ErrorVariable err
        ($vms.Name -join ',') | Should -Be 'web01,db01'
        @($err).Count | Should -Be 0
    }
}

Describe 'Get-MigrationPolicy' {
    It 'shows every cluster by default' {
        $policies = @(Get-MigrationPolicy -InventoryPath $Sample)
        $policies.Count | Should -Be 1
        $policies[0].Scope | Should -Be 'Cluster'
        $policies[0].Name | Should -Be 'prod'
        "$($policies[0].Parallel)" | Should -Be 'Auto'
    }

    It 'shows where each value of a VM policy comes from' {
        $policy = Get-MigrationPolicy -VM db01 -InventoryPath $Sample
        $policy.Scope | Should -Be 'VM'
        "$($policy.Parallel)" | Should -Be 'Custom'
        $policy.Connections | Should -Be 4
        $policy.MaxDowntimeMs | Should -Be 500
        "$($policy.Sources['parallel'])" | Should -Be "VM 'db01'"
        "$($policy.Sources['encryption'])" | Should -Be "cluster 'prod'"
        "$($policy.Sources['bandwidthGbps'])" | Should -Be 'default'
        $list = $policy | Format-List | Out-String -Width 250
        $list | Should -Match 'Sources'
        $list | Should -Match "parallel: VM 'db01'"
    }

    It 'takes VMs from Get-MigrationVM' {
        $policies = Get-MigrationVM -InventoryPath $Sample | Get-MigrationPolicy
        ($policies.Name -join ',') | Should -Be 'web01,db01,build01'
        ($policies | ForEach-Object { "$($_.Parallel)" }) -join ',' | Should -Be 'Auto,Custom,Disabled'
    }
}

Describe 'Set-MigrationPolicy' {
    BeforeEach {
        $Copy = New-InventoryCopy
        $Before = [System.IO.File]::ReadAllLines($Copy)
        $BeforeHash = Get-Hash $Copy
    }

    It 'changes nothing with -WhatIf' {
        Set-MigrationPolicy -Cluster prod -Parallel Custom -Connections 8 -InventoryPath $Copy -WhatIf
        Get-Hash $Copy | Should -Be $BeforeHash
    }

    It 'edits only the lines of the cluster block, comments and all else kept' {
        $result = Set-MigrationPolicy -Cluster prod -Parallel Custom -Connections 8 -InventoryPath $Copy -PassThru
        "$($result.Parallel)" | Should -Be 'Custom'
        $result.Connections | Should -Be 8

        $after = [System.IO.File]::ReadAllLines($Copy)
        $after.Count | Should -Be ($Before.Count + 1)
        # Undo the two expected edits: what is left must be the original, byte for byte.
        $restored = $after | Where-Object { $_ -ne '      connections: 8' } |
            ForEach-Object { if ($_ -eq '      parallel: Custom') { '      parallel: Auto' } else { $_ } }
        ($restored -join "`n") | Should -BeExactly ($Before -join "`n")
        # The new key sits inside prod's block: after "- name: prod" and before "hosts:".
        $at = [array]::IndexOf($after, '      connections: 8')
        $at | Should -BeGreaterThan ([array]::IndexOf($after, '  - name: prod'))
        $at | Should -BeLessThan ([array]::IndexOf($after, 'hosts:'))
        # Comments survive.
        (($after | Where-Object { $_ -match '^\s*#' }) -join "`n") | Should -BeExactly (($Before | Where-Object { $_ -match '^\s*#' }) -join "`n")

        $policy = Get-MigrationPolicy -Cluster prod -InventoryPath $Copy
        "$($policy.Parallel)" | Should -Be 'Custom'
        $policy.Connections | Should -Be 8
    }

    It 'refuses a change that breaks a rule, with PolicyRejected, and leaves the file alone' {
        $result = Set-MigrationPolicy -Cluster prod -Parallel Parallel -Postcopy -InventoryPath $Copy -PassThru -ErrorVariable err -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'PolicyRejected,*'
        $err[0].TargetObject | Should -Be 'prod'
        $err[0].Exception.Message | Should -BeLike '*postcopy*'
        Get-Hash $Copy | Should -Be $BeforeHash
    }

    It 'refuses a call that changes nothing' {
        Set-MigrationPolicy -Cluster prod -InventoryPath $Copy -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NothingToChange,*'
        Get-Hash $Copy | Should -Be $BeforeHash
    }

    It 'edits a VM block, accepting the words of the inventory (zstd) for enum values' {
        $result = Set-MigrationPolicy -VM web01 -Compression zstd -InventoryPath $Copy -PassThru -WarningAction SilentlyContinue
        $result.Scope | Should -Be 'VM'
        "$($result.Compression)" | Should -Be 'Zstd'
        (Get-Content -LiteralPath $Copy -Raw) | Should -Match 'compression: zstd'
        "$((Get-MigrationPolicy -Cluster prod -InventoryPath $Copy).Compression)" | Should -Be 'None'
    }

    It 'clears a key so it inherits again' {
        Set-MigrationPolicy -Cluster prod -Clear maxDowntimeMs -InventoryPath $Copy
        (Get-Content -LiteralPath $Copy) | Should -Not -Contain '      maxDowntimeMs: 300'
        "$((Get-MigrationPolicy -Cluster prod -InventoryPath $Copy).Sources['maxDowntimeMs'])" | Should -Be 'default'
    }

    It 'clears a key named as PowerShell users write it (-Clear MaxDowntimeMs)' {
        # -Clear's [ValidateSet] ignores case, so 'MaxDowntimeMs' is accepted; it must then also work,
        # not leave the file untouched without a word.
        Set-MigrationPolicy -Cluster prod -Clear MaxDowntimeMs -InventoryPath $Copy
        (Get-Content -LiteralPath $Copy) | Should -Not -Contain '      maxDowntimeMs: 300'
    }

    It 'edits a VM''s one-line block { ... } in place' {
        $result = Set-MigrationPolicy -VM db01 -MaxDowntimeMs 400 -InventoryPath $Copy -PassThru
        $result.MaxDowntimeMs | Should -Be 400
        $after = [System.IO.File]::ReadAllLines($Copy)
        $after.Count | Should -Be $Before.Count
        $changed = @(0..($after.Count - 1) | Where-Object { $after[$_] -cne $Before[$_] })
        $changed.Count | Should -Be 1
        $after[$changed[0]] | Should -Match '^\s+migration: \{.*parallel: Custom.*connections: 4.*maxDowntimeMs: 400.*\}$'
        (Get-MigrationPolicy -Cluster prod -InventoryPath $Copy).MaxDowntimeMs | Should -Be 300
    }

    It 'edits the VM it is given when a VM policy is piped in (Get | Set)' {
        # An EffectivePolicy has Name (the VM) and Cluster (its cluster): it must not select -Cluster.
        $result = Get-MigrationPolicy -VM web01 -InventoryPath $Copy | Set-MigrationPolicy -MaxDowntimeMs 400 -PassThru
        $result.Scope | Should -Be 'VM'
        $result.Name | Should -Be 'web01'
        $result.MaxDowntimeMs | Should -Be 400
        (Get-MigrationPolicy -Cluster prod -InventoryPath $Copy).MaxDowntimeMs | Should -Be 300
    }
}

Describe 'Start-VMMigration' {
    It 'shows the plan and every QMP step with -WhatIf, and changes nothing' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $out = Get-HostText { Start-VMMigration web01 -Destination kvm02 -InventoryPath $copy -WhatIf }
        $out | Should -Match 'web01: kvm01 -> kvm02 over .mig.'
        $out | Should -Match 'migrate-set-capabilities'
        $out | Should -Match '-incoming defer'
        Get-Hash $copy | Should -Be $before
    }

    It 'takes VMs from Get-MigrationVM and the transport and connections as parameters' {
        $out = Get-HostText { Get-MigrationVM web01 -InventoryPath $Sample | Start-VMMigration -Destination kvm02 -Transport Engine -Connections 4 -WhatIf }
        $out | Should -Match 'engine: 5 connection\(s\)'
    }

    It 'shows the exact libvirt call and its virsh equivalent for a libvirt domain with -WhatIf' {
        $out = Get-HostText { Start-VMMigration db01 -Destination kvm02 -InventoryPath $Sample -Transport Direct -WhatIf }
        $out | Should -Match 'virDomainMigrateToURI3\(domain .db01. at qemu:///system, "qemu\+tls://kvm02/system"'
        $out | Should -Match 'VIR_MIGRATE_LIVE \| VIR_MIGRATE_PEER2PEER'
        $out | Should -Match 'virsh -c qemu:///system migrate --live --p2p'
        $out | Should -Not -Match 'tunnelled'
    }

    It 'refuses -Connections out of range before doing anything' {
        { Start-VMMigration web01 -Destination kvm02 -InventoryPath $Sample -Connections 0 -WhatIf } | Should -Throw -ErrorId 'ParameterArgumentValidationError,PSMigration.PowerShell.StartVMMigrationCommand'
    }

    It 'reports an unknown VM as ObjectNotFound' {
        Start-VMMigration nosuchvm -Destination kvm02 -InventoryPath $Sample -WhatIf -ErrorVariable problems -ErrorAction SilentlyContinue
        $problems[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'returns a failed MigrationResult and an error when the VM is not running here' {
        $pki = New-SamplePki
        $here = New-LoopbackInventoryCopy # this machine is kvm01: the migration runs here, and finds no QEMU
        $result = Start-VMMigration web01 -Destination kvm02 -InventoryPath $here -PkiPath $pki -RunDirectory $TestDrive -Confirm:$false -ErrorVariable problems -ErrorAction SilentlyContinue
        $result.Status | Should -Be 'Failed'
        $result.Error | Should -Match 'QMP socket'
        $problems[0].FullyQualifiedErrorId | Should -Match '^QmpUnavailable'
    }
}
