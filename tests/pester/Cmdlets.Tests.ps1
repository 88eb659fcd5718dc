#Requires -Version 7.4
<#
    Every cmdlet run in PowerShell as users run it: names in any case and with wildcards, pipeline binding from
    the module's objects and from Import-Csv rows, -WhatIf and -Confirm:$false, error records with
    -ErrorAction Stop, -Verbose, what the default views show, and what Export-Csv writes. The parts that need
    real QEMU, agents and migrations (progress, Ctrl+C, jobs) are in tests/PSMigration.PowerShell.Hosted.Tests.
#>

BeforeAll {
    . (Join-Path $PSScriptRoot 'Helpers.ps1')
}

AfterAll {
    Remove-Module Migration -Force -ErrorAction SilentlyContinue
}

Describe 'Names in any case, with wildcards' {
    It 'plans VM and host names in any case' {
        $plan = Get-MigrationPlan WEB01 -Destination KVM02 -Network MIG -InventoryPath $Sample
        $plan.Vm, $plan.DestinationHost, $plan.Network | Should -Be 'web01', 'kvm02', 'mig'
    }

    It 'plans every VM a wildcard matches' {
        $plans = Get-MigrationPlan 'Web*', 'db0?' -Destination kvm03 -InventoryPath $Sample
        ($plans.Vm -join ',') | Should -Be 'web01,db01'
    }

    It 'reports a wildcard that matches nothing as ObjectNotFound, naming it, and plans the rest' {
        $plans = Get-MigrationPlan 'zz*', 'web01' -Destination kvm02 -InventoryPath $Sample -ErrorVariable err -ErrorAction SilentlyContinue
        $plans.Vm | Should -Be 'web01'
        $err[0].FullyQualifiedErrorId | Should -Be 'VMNotFound,PSMigration.PowerShell.GetMigrationPlanCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'zz*'
        $err[0].Exception.Message | Should -BeLike "*matches 'zz*'*"
    }

    It 'shows the policies of clusters and VMs in any case and by wildcard' {
        (Get-MigrationPolicy -Cluster PROD -InventoryPath $Sample).Name | Should -Be 'prod'
        (Get-MigrationPolicy -Cluster 'p*' -InventoryPath $Sample).Name | Should -Be 'prod'
        ((Get-MigrationPolicy -VM '*01' -InventoryPath $Sample).Name -join ',') | Should -Be 'web01,db01,build01'
        (Get-MigrationPolicy -VM DB01 -InventoryPath $Sample).Connections | Should -Be 4
    }

    It 'edits the block of a VM named in another case, and of every VM a wildcard matches' {
        $copy = New-InventoryCopy
        Set-MigrationPolicy -VM WEB01 -MaxDowntimeMs 450 -InventoryPath $copy
        (Get-MigrationPolicy -VM web01 -InventoryPath $copy).MaxDowntimeMs | Should -Be 450
        Set-MigrationPolicy -VM '*01' -MaxDowntimeMs 350 -InventoryPath $copy -WarningAction SilentlyContinue
        (Get-MigrationPolicy -VM * -InventoryPath $copy).MaxDowntimeMs | Should -Be 350, 350, 350
        Set-MigrationPolicy -Cluster PROD -MaxDowntimeMs 250 -InventoryPath $copy
        (Get-MigrationPolicy -Cluster prod -InventoryPath $copy).MaxDowntimeMs | Should -Be 250
    }

    It 'starts (with -WhatIf) every VM a wildcard matches, in any case' {
        $out = Get-HostText { Start-VMMigration 'WEB*' -Destination KVM02 -InventoryPath $Sample -WhatIf }
        $out | Should -Match 'web01: kvm01 -> kvm02'
        $out | Should -Match 'convergence: not predicted: web01 runs on kvm01, not on this machine'
    }

    It 'ends -WhatIf with why there is no convergence prediction when the VM does not run here' {
        $copy = New-LoopbackInventoryCopy # this machine is kvm01, where web01 would run
        $out = Get-HostText { Start-VMMigration web01 -Destination kvm02 -InventoryPath $copy -WhatIf }
        $out | Should -Match ([regex]::Escape("convergence: not predicted: There is no QMP socket at /run/psmig/web01.qmp (is the VM running?)."))
    }

    It 'tests the network and readiness of hosts and VMs named in any case' {
        $pki = New-SamplePki
        Test-MigrationNetwork KVM01 KVM02 -Network MIG -Seconds 1 -PkiPath $pki -InventoryPath $Sample -Quiet | Should -Be $false
        $readiness = Test-VMMigration WEB01 -Destination 'KVM0[23]' -PkiPath $pki -InventoryPath $Sample
        ($readiness.DestinationHost -join ',') | Should -Be 'kvm02,kvm03'
    }

    It 'lists hosts by cluster names in any case and by wildcard' {
        @(Get-MigrationHost -Cluster PROD -InventoryPath $Sample).Count | Should -Be 3
        @(Get-MigrationHost -Cluster 'pr*' -InventoryPath $Sample).Count | Should -Be 3
        @(Get-MigrationVM -HostName KVM01 -InventoryPath $Sample).Count | Should -Be 2
    }
}

Describe 'Pipeline input' {
    It 'binds VM objects to Set-MigrationPolicy -VM (by their Name)' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        Get-MigrationVM -HostName kvm01 -InventoryPath $copy | Set-MigrationPolicy -MaxDowntimeMs 400 -WhatIf
        Get-Hash $copy | Should -Be $before
        Get-MigrationVM -HostName kvm01 -InventoryPath $copy | Set-MigrationPolicy -MaxDowntimeMs 400
        ((Get-MigrationPolicy -VM web01, db01, build01 -InventoryPath $copy).MaxDowntimeMs -join ',') | Should -Be '400,400,300'
    }

    It 'binds VM names by value to Set-MigrationPolicy' {
        $copy = New-InventoryCopy
        'web01' | Set-MigrationPolicy -MaxDowntimeMs 420 -InventoryPath $copy
        (Get-MigrationPolicy -VM web01 -InventoryPath $copy).MaxDowntimeMs | Should -Be 420
    }

    It 'still edits the block a piped policy names (a cluster policy edits its cluster)' {
        $copy = New-InventoryCopy
        Get-MigrationPolicy -Cluster prod -InventoryPath $copy | Set-MigrationPolicy -MaxDowntimeMs 280
        (Get-MigrationPolicy -Cluster prod -InventoryPath $copy).MaxDowntimeMs | Should -Be 280
        (Get-MigrationPolicy -VM db01 -InventoryPath $copy).MaxDowntimeMs | Should -Be 500
    }

    It 'takes Import-Csv rows by their column names, for every cmdlet that takes names' {
        $csv = Join-Path $TestDrive 'moves.csv'
        @(
            [pscustomobject]@{ Name = 'web01'; Destination = 'kvm02'; InventoryPath = $Sample }
            [pscustomobject]@{ Name = 'DB01'; Destination = 'kvm03'; InventoryPath = $Sample }
        ) | Export-Csv -LiteralPath $csv
        $rows = Import-Csv -LiteralPath $csv

        (($rows | Get-MigrationPlan).Vm -join ',') | Should -Be 'web01,db01'
        (($rows | Get-MigrationVM).Name -join ',') | Should -Be 'web01,db01'
        (($rows | Get-MigrationPolicy).Name -join ',') | Should -Be 'web01,db01'
        $out = Get-HostText { $rows | Start-VMMigration -WhatIf }
        $out | Should -Match 'web01: kvm01 -> kvm02'
        $out | Should -Match 'db01: kvm01 -> kvm03'
        $readiness = $rows | Test-VMMigration -PkiPath (New-SamplePki)
        ($readiness | ForEach-Object { "$($_.Vm)->$($_.DestinationHost)" }) -join ',' | Should -Be 'web01->kvm02,db01->kvm03'

        $policies = Join-Path $TestDrive 'policies.csv'
        [pscustomobject]@{ Name = 'WEB01' } | Export-Csv -LiteralPath $policies
        $copy = New-InventoryCopy
        Import-Csv -LiteralPath $policies | Set-MigrationPolicy -MaxDowntimeMs 390 -InventoryPath $copy
        (Get-MigrationPolicy -VM web01 -InventoryPath $copy).MaxDowntimeMs | Should -Be 390

        $hosts = Join-Path $TestDrive 'hosts.csv'
        [pscustomobject]@{ Name = 'kvm02'; Source = 'kvm01'; Destination = 'kvm02'; Network = 'mig'; InventoryPath = $Sample } | Export-Csv -LiteralPath $hosts
        (Import-Csv -LiteralPath $hosts | Get-MigrationHost).Name | Should -Be 'kvm02'
        Import-Csv -LiteralPath $hosts | Test-MigrationNetwork -Seconds 1 -PkiPath (New-SamplePki) -Quiet | Should -Be $false
    }

    It 'takes a plan exported to CSV back into Start-VMMigration and Test-VMMigration' {
        $csv = Join-Path $TestDrive 'plans.csv'
        Get-MigrationPlan web01 kvm02 -InventoryPath $Sample | Export-Csv -LiteralPath $csv
        $out = Get-HostText { Import-Csv -LiteralPath $csv | Start-VMMigration -WhatIf }
        $out | Should -Match "web01: kvm01 -> kvm02 over 'mig'"
        (Import-Csv -LiteralPath $csv | Test-VMMigration -PkiPath (New-SamplePki)).DestinationHost | Should -Be 'kvm02'
    }

    It 'plans what Get-MigrationVM pipes, and checks what Get-MigrationPlan pipes' {
        ((Get-MigrationVM -HostName kvm01 -InventoryPath $Sample | Get-MigrationPlan -Destination kvm03).Vm -join ',') | Should -Be 'web01,db01'
        (Get-MigrationPlan web01 kvm03 -InventoryPath $Sample | Test-VMMigration -PkiPath (New-SamplePki)).DestinationHost | Should -Be 'kvm03'
    }
}

Describe '-WhatIf and -Confirm:$false' {
    It 'New-MigrationCertificate writes nothing with -WhatIf, and writes without asking with -Confirm:$false' {
        $pki = Join-Path $TestDrive 'pki-whatif'
        New-MigrationCertificate -Path $pki -InventoryPath $Sample -WhatIf
        $pki | Should -Not -Exist
        $files = New-MigrationCertificate -Path $pki -InventoryPath $Sample -Confirm:$false
        ($files.Name | Sort-Object) -join ',' | Should -Be 'ca.crt,ca.key,kvm01.crt,kvm01.key,kvm02.crt,kvm02.key,kvm03.crt,kvm03.key'
        ($files | Where-Object Name -EQ 'kvm01.key').UnixMode | Should -Be '-rw-------'
    }

    It 'Set-MigrationPolicy shows the changed lines with -WhatIf and writes with -Confirm:$false' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $out = Get-HostText { Set-MigrationPolicy -Cluster prod -MaxDowntimeMs 275 -InventoryPath $copy -WhatIf }
        $out | Should -Match 'maxDowntimeMs: 300 .* -> 275'
        Get-Hash $copy | Should -Be $before
        Set-MigrationPolicy -Cluster prod -MaxDowntimeMs 275 -InventoryPath $copy -Confirm:$false
        (Get-MigrationPolicy -Cluster prod -InventoryPath $copy).MaxDowntimeMs | Should -Be 275
    }

    It 'Start-VMMigration with -Confirm:$false tries for real, and leaves the inventory alone when it cannot' {
        $copy = New-LoopbackInventoryCopy # this machine is kvm01, where web01's QEMU is not running
        $before = Get-Hash $copy
        $result = Start-VMMigration web01 kvm02 -InventoryPath $copy -PkiPath (New-SamplePki) -RunDirectory $TestDrive -Confirm:$false -ErrorAction SilentlyContinue
        $result.Status | Should -Be 'Failed'
        Get-Hash $copy | Should -Be $before
    }

    It 'Start-VMMigration refuses on a machine that is no host of the inventory, and leaves the inventory alone' {
        $copy = New-InventoryCopy # none of the sample's addresses is on this machine
        $before = Get-Hash $copy
        $result = Start-VMMigration web01 kvm02 -InventoryPath $copy -PkiPath (New-SamplePki) -RunDirectory $TestDrive -Confirm:$false -ErrorVariable problems -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $problems[0].FullyQualifiedErrorId | Should -Be 'NotOnAClusterHost,PSMigration.PowerShell.StartVMMigrationCommand'
        $problems[0].Exception.Message | Should -BeLike "*this machine is not kvm01*nor any other host of the inventory*asks kvm01's agent*"
        Get-Hash $copy | Should -Be $before
    }
}

Describe 'Error records with -ErrorAction Stop' {
    It '<Command> stops with <Id> (<Category>) about <Target>' -ForEach @(
        @{ Command = 'Get-MigrationPlan'; Run = { Get-MigrationPlan nosuchvm kvm02 -InventoryPath $Sample -ErrorAction Stop }; Id = 'VMNotFound'; Category = 'ObjectNotFound'; Target = 'nosuchvm' }
        @{ Command = 'Get-MigrationPlan'; Run = { Get-MigrationPlan web01 kvm01 -InventoryPath $Sample -ErrorAction Stop }; Id = 'SameHost'; Category = 'InvalidArgument'; Target = 'web01' }
        @{ Command = 'Get-MigrationVM'; Run = { Get-MigrationVM 'nothing*' -InventoryPath $Sample -ErrorAction Stop }; Id = 'VMNotFound'; Category = 'ObjectNotFound'; Target = 'nothing*' }
        @{ Command = 'Get-MigrationHost'; Run = { Get-MigrationHost kvm09 -InventoryPath $Sample -ErrorAction Stop }; Id = 'HostNotFound'; Category = 'ObjectNotFound'; Target = 'kvm09' }
        @{ Command = 'Get-MigrationPolicy'; Run = { Get-MigrationPolicy -Cluster dev -InventoryPath $Sample -ErrorAction Stop }; Id = 'ClusterNotFound'; Category = 'ObjectNotFound'; Target = 'dev' }
        @{ Command = 'Set-MigrationPolicy'; Run = { Set-MigrationPolicy -Cluster prod -Parallel Parallel -Postcopy -InventoryPath (New-InventoryCopy) -ErrorAction Stop }; Id = 'PolicyRejected'; Category = 'InvalidArgument'; Target = 'prod' }
        @{ Command = 'Start-VMMigration'; Run = { Start-VMMigration 'nosuch*' kvm02 -InventoryPath $Sample -WhatIf -ErrorAction Stop }; Id = 'VMNotFound'; Category = 'ObjectNotFound'; Target = 'nosuch*' }
        @{ Command = 'Start-VMMigration'; Run = { Start-VMMigration web01 kvm02 -Network iscsi-z -InventoryPath $Sample -WhatIf -ErrorAction Stop }; Id = 'NetworkNotFound'; Category = 'ObjectNotFound'; Target = 'web01' }
        @{ Command = 'Test-MigrationNetwork'; Run = { Test-MigrationNetwork kvm01 kvm01 -InventoryPath $Sample -PkiPath (New-SamplePki) -ErrorAction Stop }; Id = 'SameHost'; Category = 'InvalidArgument'; Target = 'kvm01->kvm01' }
        @{ Command = 'Test-VMMigration'; Run = { Test-VMMigration nosuchvm -InventoryPath $Sample -ErrorAction Stop }; Id = 'VMNotFound'; Category = 'ObjectNotFound'; Target = 'nosuchvm' }
        @{ Command = 'New-MigrationCertificate'; Run = { New-MigrationCertificate -Path 'never-written' -InventoryPath (Join-Path $TestDrive 'missing.yaml') -ErrorAction Stop }; Id = 'InventoryNotFound'; Category = 'ObjectNotFound'; Target = 'never-written' }
    ) {
        $record = Get-StopError $Run
        $record.FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $record.CategoryInfo.Category | Should -Be $Category
        $record.TargetObject | Should -Be $Target
    }

    It 'says which variable to set when there is no inventory, as PowerShell spells it' {
        $saved = $env:PSMIGRATION_INVENTORY
        try {
            $env:PSMIGRATION_INVENTORY = $null
            $record = Get-StopError { Get-MigrationVM -ErrorAction Stop }
            $record.FullyQualifiedErrorId | Should -BeLike 'InventoryPathMissing,*'
            $record.Exception.Message | Should -BeExactly 'No inventory given: pass -InventoryPath or set $env:PSMIGRATION_INVENTORY'
        }
        finally {
            $env:PSMIGRATION_INVENTORY = $saved
        }
    }

    It 'explains a YAML syntax error in YAML terms, at its line and column' {
        $bad = Join-Path $TestDrive 'unclosed.yaml'
        Set-Content -LiteralPath $bad -Value @(
            'networks:'
            '  - name: lan'
            '    cidr: {a: b'
            'hosts: []'
        )
        $record = Get-StopError { Get-MigrationVM -InventoryPath $bad -ErrorAction Stop }
        $record.CategoryInfo.Category | Should -Be 'InvalidData'
        $record.Exception.Message | Should -Match "unclosed\.yaml:3:11: not valid YAML: the '\{' here opens a mapping that is never closed: a '\}' is missing"
        $record.Exception.Message | Should -Not -Match 'Operation is not valid'
    }

    It 'reports connections out of range once, not also as missing' {
        $record = Get-StopError { Set-MigrationPolicy -Cluster prod -Parallel Custom -Connections 300 -InventoryPath (New-InventoryCopy) -ErrorAction Stop }
        $record.FullyQualifiedErrorId | Should -BeLike 'PolicyRejected,*'
        $record.Exception.Message | Should -Match 'must be at most 255, not 300'
        $record.Exception.Message | Should -Not -Match "needs 'connections'"
    }
}

Describe '-Verbose tells the story' {
    It 'Get-MigrationPlan names the inventory, the choice and why, and the networks not chosen' {
        $lines = Get-MigrationPlan web01 kvm03 -InventoryPath $Sample -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
        $lines | Should -Contain ($lines | Where-Object { $_ -like "Inventory $Sample*" } | Select-Object -First 1)
        ($lines -join "`n") | Should -Match "Plan web01: kvm01 -> kvm03 over 'lan'"
        ($lines -join "`n") | Should -Match "Plan web01: not 'mig': not on kvm03"
    }

    It 'reuses a loaded inventory until the file changes (length, time or inode)' {
        $copy = New-InventoryCopy 'cached.yaml'
        $first = Get-MigrationVM -InventoryPath $copy -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $second = Get-MigrationVM -InventoryPath $copy -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $first[0].Message | Should -BeLike "Inventory $copy`: loaded in * ms (3 hosts, 3 VMs, 5 networks)"
        $second[0].Message | Should -BeLike "Inventory $copy`: unchanged since it was loaded, reused*"
        Set-MigrationPolicy -VM web01 -MaxDowntimeMs 410 -InventoryPath $copy
        $third = Get-MigrationPolicy -VM web01 -InventoryPath $copy -Verbose 4>&1
        ($third | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })[0].Message | Should -BeLike "Inventory $copy`: loaded in*"
        ($third | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).MaxDowntimeMs | Should -Be 410
    }

    It 'New-MigrationCertificate says each file it wrote' {
        $lines = New-MigrationCertificate -Path (Join-Path $TestDrive 'pki-verbose') -InventoryPath $Sample -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
        ($lines -join "`n") | Should -Match 'Wrote .*pki-verbose/ca\.crt'
    }

    It 'Set-MigrationPolicy says what it wrote' {
        $copy = New-InventoryCopy
        $lines = Set-MigrationPolicy -Cluster prod -MaxDowntimeMs 290 -InventoryPath $copy -Verbose 4>&1 | ForEach-Object Message
        ($lines -join "`n") | Should -Match 'the policy of cluster .prod. is set: maxDowntimeMs: 300'
    }

    It 'Test-VMMigration tells each check, and -Debug shows the control messages it sends' {
        $out = Test-VMMigration web01 kvm02 -InventoryPath $Sample -PkiPath (New-SamplePki) -Verbose -Debug 4>&1 5>&1 -ErrorAction SilentlyContinue
        $verbose = ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n"
        $verbose | Should -Match 'Check web01 -> kvm02: plan: ok'
        $verbose | Should -Match 'Check web01 -> kvm02: agent: FAILED'
    }
}

Describe 'What users see: views and CSV' {
    BeforeAll {
        $Readiness = Test-VMMigration web01 kvm02 -InventoryPath $Sample -PkiPath (New-SamplePki)
    }

    It 'shows <Type> as a table with <Columns>' -ForEach @(
        @{ Type = 'hosts'; Get = { Get-MigrationHost -InventoryPath $Sample }; Columns = 'Name', 'Cluster', 'CpuThreads' }
        @{ Type = 'VMs'; Get = { Get-MigrationVM -InventoryPath $Sample }; Columns = 'Name', 'Host', 'Backend' }
        @{ Type = 'plans'; Get = { Get-MigrationPlan web01 kvm02 -InventoryPath $Sample }; Columns = 'VM', 'Network', 'Connections' }
        @{ Type = 'policies'; Get = { Get-MigrationPolicy -InventoryPath $Sample }; Columns = 'Scope', 'Name', 'Parallel' }
        @{ Type = 'readiness'; Get = { $Readiness }; Columns = 'VM', 'From', 'To', 'Ready', 'Failed' }
        @{ Type = 'certificate files'; Get = { New-MigrationCertificate -Path (Join-Path $TestDrive "pki-view-$(New-Guid)") -InventoryPath $Sample }; Columns = 'UnixMode', 'Name', 'Directory' }
    ) {
        $table = & $Get | Out-String -Width 300
        foreach ($column in $Columns) { $table | Should -Match "\b$column\b" }
    }

    It 'shows readiness checks with their details in Format-List' {
        $list = $Readiness | Format-List | Out-String -Width 300
        $list | Should -Match 'Checks'
        $list | Should -Match 'plan\s+ok\s+over .mig.'
        $list | Should -Match 'agent\s+FAILED'
    }

    It 'says what each readiness check found, never throws, and names the checks' {
        $Readiness.Ready | Should -BeFalse
        ($Readiness.Checks.Name -join ',') | Should -Be 'plan,agent,qemu,memory,source,mtu'
        ($Readiness.Checks | Where-Object Name -EQ plan).Passed | Should -BeTrue
        ($Readiness.Checks | Where-Object Name -EQ agent).Detail | Should -Match 'Is the agent running on kvm02'
        ($Readiness.Checks | Where-Object Name -EQ qemu).Detail | Should -Match 'not checked: it needs the agent'
        Test-VMMigration web01 kvm02 -InventoryPath $Sample -PkiPath (New-SamplePki) -Quiet | Should -Be $false
    }

    It 'exports <Type> to CSV as readable text' -ForEach @(
        @{ Type = 'plans'; Get = { Get-MigrationPlan web01 kvm03 -InventoryPath $Sample }; Column = 'Rejected'; Text = 'mig: not on kvm03' }
        @{ Type = 'VMs'; Get = { Get-MigrationVM db01 -InventoryPath $Sample }; Column = 'Migration'; Text = 'parallel: Custom, connections: 4, maxDowntimeMs: 500' }
        @{ Type = 'hosts'; Get = { Get-MigrationHost kvm01 -InventoryPath $Sample }; Column = 'Interfaces'; Text = 'bond0 192.0.2.11/24 (802.3ad bond, 2 × 1 Gbps)' }
        @{ Type = 'policies'; Get = { Get-MigrationPolicy -VM db01 -InventoryPath $Sample }; Column = 'Sources'; Text = "parallel: VM 'db01'" }
        @{ Type = 'readiness'; Get = { $Readiness }; Column = 'Checks'; Text = 'plan: ok: over' }
    ) {
        $rows = & $Get | ConvertTo-Csv | ConvertFrom-Csv
        $rows[0].$Column | Should -BeLike "*$Text*"
        $text = (& $Get | ConvertTo-Csv) -join "`n"
        $text | Should -Not -Match 'System\.Collections|System\.String\[\]|List`1|\w+ \{ \w+ = '
    }
}

Describe 'Storage: shared or copy' {
    It 'Set-MigrationPolicy -Storage Copy writes storage: copy, and Get-MigrationPolicy shows it with its source' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        Set-MigrationPolicy -Cluster prod -Storage Copy -InventoryPath $copy
        (Get-Content -LiteralPath $copy) | Should -Contain '      storage: copy'
        $policy = Get-MigrationPolicy -VM web01 -InventoryPath $copy
        $policy.Storage | Should -Be ([PSMigration.Core.Policies.StorageMode]::Copy)
        "$($policy.Sources['storage'])" | Should -Be "cluster 'prod'"
        ($policy | Format-List | Out-String -Width 300) | Should -Match 'Storage\s+: Copy'
        (Get-MigrationPolicy -Cluster prod -InventoryPath $copy | Out-String -Width 300) | Should -Match '\bStorage\b'
        Set-MigrationPolicy -Cluster prod -Clear storage -InventoryPath $copy
        Get-Hash $copy | Should -Be $before
    }

    It 'a VM''s -Storage Shared overrides its cluster''s copy' {
        $copy = New-InventoryCopy
        Set-MigrationPolicy -Cluster prod -Storage Copy -InventoryPath $copy
        Set-MigrationPolicy -VM db01 -Storage Shared -InventoryPath $copy
        (Get-MigrationPolicy -VM db01 -InventoryPath $copy).Storage | Should -Be 'Shared'
        (Get-MigrationPolicy -VM web01 -InventoryPath $copy).Storage | Should -Be 'Copy'
        (Get-MigrationPlan web01 kvm02 -InventoryPath $copy).Reasons | Should -Contain "storage: copy (from cluster 'prod'): the VM's writable local disks are copied to kvm02 before its memory."
    }

    It 'Start-VMMigration has a -CopyStorage switch that makes this run''s plan copy the disks' {
        $parameter = (Get-Command Start-VMMigration).Parameters['CopyStorage']
        $parameter.SwitchParameter | Should -BeTrue
        $out = Get-HostText { Start-VMMigration web01 kvm02 -CopyStorage -InventoryPath $Sample -WhatIf -Verbose }
        $out | Should -Match 'storage: copy \(from parameter\)'
        $out | Should -Match 'What if: Live-migrate web01'
        (Get-MigrationPolicy -VM web01 -InventoryPath $Sample).Storage | Should -Be 'Shared'
    }
}

Describe 'maxConcurrentIncoming' {
    It 'Set-MigrationPolicy -MaxConcurrentIncoming 2 writes it, and Get-MigrationPolicy shows it with its source' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        (Get-MigrationPolicy -Cluster prod -InventoryPath $copy).MaxConcurrentIncoming | Should -BeNullOrEmpty
        Set-MigrationPolicy -Cluster prod -MaxConcurrentIncoming 2 -InventoryPath $copy
        (Get-Content -LiteralPath $copy) | Should -Contain '      maxConcurrentIncoming: 2'
        $policy = Get-MigrationPolicy -VM web01 -InventoryPath $copy
        $policy.MaxConcurrentIncoming | Should -Be 2
        "$($policy.Sources['maxConcurrentIncoming'])" | Should -Be "cluster 'prod'"
        ($policy | Format-List | Out-String -Width 300) | Should -Match 'MaxConcurrentIncoming\s+: 2'
        Set-MigrationPolicy -Cluster prod -Clear maxConcurrentIncoming -InventoryPath $copy
        Get-Hash $copy | Should -Be $before
    }

    It 'refuses 0 and leaves the file' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $record = Get-StopError { Set-MigrationPolicy -VM web01 -MaxConcurrentIncoming 0 -InventoryPath $copy -ErrorAction Stop }
        $record.FullyQualifiedErrorId | Should -BeLike 'PolicyRejected,*'
        "$($record.Exception.Message)" | Should -Match "'maxConcurrentIncoming' of the migration policy of VM 'web01' must be at least 1, not 0"
        Get-Hash $copy | Should -Be $before
    }
}

Describe 'Convergence: autoConverge, timeoutAction, completionTimeoutPerGiB, progressTimeout' {
    It 'Set-MigrationPolicy shows the four keys with -WhatIf and writes nothing' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $out = Get-HostText { Set-MigrationPolicy -VM web01 -AutoConverge -TimeoutAction Pause -CompletionTimeoutPerGiB 20 -ProgressTimeout 60 -InventoryPath $copy -WhatIf }
        $out | Should -Match "autoConverge: false \(default\) -> true \(VM 'web01'\)"
        $out | Should -Match "timeoutAction: cancel \(default\) -> pause \(VM 'web01'\)"
        $out | Should -Match "completionTimeoutPerGiB: \(none\) \(default\) -> 20 \(VM 'web01'\)"
        $out | Should -Match "progressTimeout: \(none\) \(default\) -> 60 \(VM 'web01'\)"
        Get-Hash $copy | Should -Be $before
    }

    It 'Set-MigrationPolicy writes the four keys, Get-MigrationPolicy shows them with their sources, and -Clear restores the file' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        Set-MigrationPolicy -Cluster prod -AutoConverge -TimeoutAction Pause -CompletionTimeoutPerGiB 20 -ProgressTimeout 60 -InventoryPath $copy
        $lines = Get-Content -LiteralPath $copy
        foreach ($line in '      autoConverge: true', '      timeoutAction: pause', '      completionTimeoutPerGiB: 20', '      progressTimeout: 60') { $lines | Should -Contain $line }
        $policy = Get-MigrationPolicy -VM web01 -InventoryPath $copy
        $policy.AutoConverge | Should -BeTrue
        $policy.TimeoutAction | Should -Be ([PSMigration.Core.Policies.TimeoutAction]::Pause)
        $policy.CompletionTimeoutPerGiB | Should -Be 20
        $policy.ProgressTimeout | Should -Be 60
        "$($policy.Sources['timeoutAction'])" | Should -Be "cluster 'prod'"
        $list = $policy | Format-List | Out-String -Width 300
        $list | Should -Match 'AutoConverge\s+: True'
        $list | Should -Match 'TimeoutAction\s+: Pause'
        $list | Should -Match 'CompletionTimeoutPerGiB\s+: 20'
        $list | Should -Match 'ProgressTimeout\s+: 60'
        $plan = Get-MigrationPlan web01 kvm02 -InventoryPath $copy
        ($plan | Format-List | Out-String -Width 300) | Should -Match 'TimeoutAction\s+: Pause'
        $plan.Reasons | Should -Contain "If it has not converged within 20 s per GiB of RAM (or the remaining bytes have not fallen for 60 s): pause the guest at the source and finish (a longer downtime) (timeoutAction from cluster 'prod')."

        Set-MigrationPolicy -Cluster prod -AutoConverge:$false -InventoryPath $copy
        (Get-Content -LiteralPath $copy) | Should -Contain '      autoConverge: false'
        Set-MigrationPolicy -Cluster prod -Clear autoConverge, TimeoutAction, completionTimeoutPerGiB, progressTimeout -InventoryPath $copy
        Get-Hash $copy | Should -Be $before
    }

    It 'refuses -TimeoutAction Postcopy without postcopy, naming both sources, and takes it with -Postcopy' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $record = Get-StopError { Set-MigrationPolicy -Cluster prod -TimeoutAction Postcopy -InventoryPath $copy -ErrorAction Stop }
        $record.FullyQualifiedErrorId | Should -BeLike 'PolicyRejected,*'
        "$($record.Exception.Message)" | Should -Match 'timeoutAction: postcopy needs postcopy: true'
        "$($record.Exception.Message)" | Should -Match "\(timeoutAction from cluster 'prod', postcopy from cluster 'prod'\)"
        Get-Hash $copy | Should -Be $before
        $policy = Set-MigrationPolicy -VM web01 -Postcopy -TimeoutAction Postcopy -InventoryPath $copy -PassThru
        $policy.TimeoutAction | Should -Be 'Postcopy'
        $policy.Postcopy | Should -BeTrue
    }

    It 'refuses <Parameter> <Value> and leaves the file' -ForEach @(
        @{ Parameter = 'CompletionTimeoutPerGiB'; Value = 0; Message = "'completionTimeoutPerGiB' of the migration policy of cluster 'prod' must be at least 1, not 0" }
        @{ Parameter = 'ProgressTimeout'; Value = 86401; Message = "'progressTimeout' of the migration policy of cluster 'prod' must be at most 86400, not 86401" }
    ) {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $arguments = @{ Cluster = 'prod'; InventoryPath = $copy; ErrorAction = 'Stop'; $Parameter = $Value }
        $record = Get-StopError { Set-MigrationPolicy @arguments }
        $record.FullyQualifiedErrorId | Should -BeLike 'PolicyRejected,*'
        "$($record.Exception.Message)" | Should -BeLike "*$Message*"
        Get-Hash $copy | Should -Be $before
    }

    It 'Start-VMMigration -Postcopy -WhatIf plans post-copy for this run and says when it would switch' {
        $parameter = (Get-Command Start-VMMigration).Parameters['Postcopy']
        $parameter.SwitchParameter | Should -BeTrue
        $out = Get-HostText { Start-VMMigration web01 kvm02 -Postcopy -InventoryPath $Sample -WhatIf -Verbose }
        $out | Should -Match 'What if: Live-migrate web01'
        $out | Should -Match 'postcopy is on; QEMU cannot run postcopy over multifd, so Auto turns parallel off'
        $out | Should -Match '"capability":"postcopy-ram","state":true'
        $out | Should -Match 'switch to post-copy \(migrate-start-postcopy, the twin committed at once\) once the first pass has sent all of RAM, as asked for this run'
        $later = Get-HostText { Start-VMMigration web01 kvm02 -PostcopyAfterSeconds 30 -InventoryPath $Sample -WhatIf }
        $later | Should -Match 'switch to post-copy \(migrate-start-postcopy, the twin committed at once\) 30 s after memory starts moving'
        $without = Get-HostText { Start-VMMigration web01 kvm02 -InventoryPath $Sample -WhatIf }
        $without | Should -Match '"capability":"postcopy-ram","state":false'
        $without | Should -Not -Match 'switch to post-copy'
        (Get-MigrationPolicy -VM web01 -InventoryPath $Sample).Postcopy | Should -BeFalse
    }

    It 'Start-VMMigration -Postcopy with parallel Custom is an InvalidParameterValue error about the VM, and the others go on' {
        $results = Start-VMMigration db01, web01 kvm02 -Postcopy -InventoryPath $Sample -WhatIf -ErrorVariable problems -ErrorAction SilentlyContinue
        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Be 'InvalidParameterValue,PSMigration.PowerShell.StartVMMigrationCommand'
        $problems[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $problems[0].TargetObject | Should -Be 'db01'
        $problems[0].Exception.Message | Should -BeLike "*postcopy: true cannot be combined with parallel: Custom*(postcopy from parameter, parallel from VM 'db01')*"
        $problems[0].Exception.Target | Should -Be 'Postcopy'
    }

    It 'refuses -PostcopyAfterSeconds outside 0 to 86400 before planning' {
        $record = Get-StopError { Start-VMMigration web01 kvm02 -PostcopyAfterSeconds -1 -InventoryPath $Sample -WhatIf -ErrorAction Stop }
        $record.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError,*'
    }

    It 'shows a result''s Action and ThrottlePercent in Format-List' {
        $result = [PSMigration.Qemu.Migration.MigrationResult]::new()
        $result.Vm = 'web01'
        $result.Status = 'Completed'
        $result.Action = 'AutoConverge'
        $result.ThrottlePercent = 40
        $list = $result | Format-List | Out-String -Width 300
        $list | Should -Match 'Action\s+: AutoConverge'
        $list | Should -Match 'ThrottlePercent\s+: 40'
    }

    It 'shows each post-copy recovery of a result in Format-List' {
        $result = [PSMigration.Qemu.Migration.MigrationResult]::new()
        $result.Vm = 'web01'
        $result.Status = 'Completed'
        $result.Recoveries = [PSMigration.Qemu.Migration.LinkRecovery[]]@([PSMigration.Qemu.Migration.LinkRecovery]::new(157286400, 8000, 2))
        $list = $result | Format-List | Out-String -Width 300
        $list | Should -Match 'Recoveries\s+: at 150 MiB: 8.0 s lost, 2 attempt\(s\)'
    }

    It 'shows each failover of a result in Format-List' {
        $result = [PSMigration.Qemu.Migration.MigrationResult]::new()
        $result.Vm = 'web01'
        $result.Status = 'Completed'
        $result.Failovers = [PSMigration.Engine.Transfer.Failover[]]@(
            [PSMigration.Engine.Transfer.Failover]::new('channel 2', 'mig', 'lan', 157286400, 4200),
            [PSMigration.Engine.Transfer.Failover]::new('channel 0', 'mig', 'mig', 1048576, 3000))
        $list = $result | Format-List | Out-String -Width 300
        $list | Should -Match 'Failovers\s+: channel 2: mig -> lan at 150 MiB, 4.2 s lost; channel 0: back on mig at 1 MiB, 3.0 s lost'
    }

    It 'shows the failovers of a resilient network test in Format-List, and exports them as text' {
        $result = [PSMigration.Engine.NetworkTest.NetworkTestResult]::new()
        $result.Network = 'mig'
        $result.SourceHost = 'kvm01'
        $result.DestinationHost = 'kvm02'
        $result.SourceAddress = [ipaddress]'10.20.0.11'
        $result.DestinationAddress = [ipaddress]'10.20.0.12'
        $result.SourceInterface = 'ens3f0'
        $result.Failovers = [PSMigration.Engine.Transfer.Failover[]]@(
            [PSMigration.Engine.Transfer.Failover]::new('channel 0', 'mig', 'lan', 497549312, 7966))
        ($result | Format-List | Out-String -Width 300) | Should -Match 'Failovers\s+: channel 0: mig -> lan at 474.5 MiB, 8.0 s lost'
        ($result | ConvertTo-Csv | Out-String) | Should -Match 'channel 0: mig -> lan at 474.5 MiB'
    }
}

Describe 'Link loss: linkLossToleranceSeconds' {
    It 'is 30 s from the default until a policy sets it' {
        $policy = Get-MigrationPolicy -VM web01 -InventoryPath $Sample
        $policy.LinkLossToleranceSeconds | Should -Be 30
        "$($policy.Sources['linkLossToleranceSeconds'])" | Should -Be 'default'
        (Get-MigrationPlan web01 kvm02 -InventoryPath $Sample).LinkLossToleranceSeconds | Should -Be 30
    }

    It 'Set-MigrationPolicy -LinkLossToleranceSeconds shows the change with -WhatIf and writes nothing' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $out = Get-HostText { Set-MigrationPolicy -Cluster prod -LinkLossToleranceSeconds 120 -InventoryPath $copy -WhatIf }
        $out | Should -Match "linkLossToleranceSeconds: 30 \(default\) -> 120 \(cluster 'prod'\)"
        Get-Hash $copy | Should -Be $before
    }

    It 'is written on the cluster, won over by a VM, shown with its source, in the plan, and -Clear restores the file' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        Set-MigrationPolicy -Cluster prod -LinkLossToleranceSeconds 120 -InventoryPath $copy
        (Get-Content -LiteralPath $copy) | Should -Contain '      linkLossToleranceSeconds: 120'
        $policy = Get-MigrationPolicy -VM web01 -InventoryPath $copy
        $policy.LinkLossToleranceSeconds | Should -Be 120
        "$($policy.Sources['linkLossToleranceSeconds'])" | Should -Be "cluster 'prod'"
        ($policy | Format-List | Out-String -Width 300) | Should -Match 'LinkLossToleranceSeconds\s+: 120'
        (Get-MigrationPlan web01 kvm02 -InventoryPath $copy).LinkLossToleranceSeconds | Should -Be 120

        $vm = Set-MigrationPolicy -VM web01 -LinkLossToleranceSeconds 10 -InventoryPath $copy -PassThru
        $vm.LinkLossToleranceSeconds | Should -Be 10
        "$($vm.Sources['linkLossToleranceSeconds'])" | Should -Be "VM 'web01'"
        $plan = Get-MigrationPlan web01 kvm02 -InventoryPath $copy
        $plan.LinkLossToleranceSeconds | Should -Be 10
        $plan.Reasons | Should -Contain "linkLossToleranceSeconds 10 (from VM 'web01'): without a working path to kvm02 for longer, the migration gives up (after a switch to post-copy, the stream is recovered for at most that long)."
        (Get-MigrationPolicy -Cluster prod -InventoryPath $copy).LinkLossToleranceSeconds | Should -Be 120

        Set-MigrationPolicy -VM web01 -Clear linkLossToleranceSeconds -InventoryPath $copy
        Set-MigrationPolicy -Cluster prod -Clear LinkLossToleranceSeconds -InventoryPath $copy
        Get-Hash $copy | Should -Be $before
    }

    It 'refuses -LinkLossToleranceSeconds <Value> and leaves the file' -ForEach @(
        @{ Value = 0; Message = "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be at least 1, not 0" }
        @{ Value = 3601; Message = "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be at most 3600, not 3601" }
    ) {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $record = Get-StopError { Set-MigrationPolicy -Cluster prod -LinkLossToleranceSeconds $Value -InventoryPath $copy -ErrorAction Stop }
        $record.FullyQualifiedErrorId | Should -BeLike 'PolicyRejected,*'
        "$($record.Exception.Message)" | Should -BeLike "*$Message*"
        Get-Hash $copy | Should -Be $before
    }
}

Describe 'Failover: networks' {
    It 'lists no failover path over the direct transport, and says why' {
        $plan = Get-MigrationPlan web01 kvm02 -InventoryPath $Sample
        $plan.Failover.Count | Should -Be 0
        $plan.Reasons | Should -Contain "Transport direct (from cluster 'prod'): QEMU's own connections cannot move to another network: no failover."
        (Get-MigrationPolicy -VM web01 -InventoryPath $Sample).Networks | Should -BeNullOrEmpty
    }

    It 'Set-MigrationPolicy -Networks shows the change with -WhatIf and writes nothing' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $out = Get-HostText { Set-MigrationPolicy -Cluster prod -Networks mig, lan -InventoryPath $copy -WhatIf }
        $out | Should -Match "networks: \(none\) \(default\) -> \[mig, lan\] \(cluster 'prod'\)"
        Get-Hash $copy | Should -Be $before
    }

    It 'is written on the cluster, replaced by a VM, shown with its source, orders the plan''s Failover, and -Clear restores the file' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        Set-MigrationPolicy -Cluster prod -Networks MIG, iscsi-a, lan -Transport Engine -InventoryPath $copy -WarningAction SilentlyContinue
        (Get-Content -LiteralPath $copy) | Should -Contain '      networks: [mig, iscsi-a, lan]'
        $policy = Get-MigrationPolicy -VM web01 -InventoryPath $copy
        $policy.Networks | Should -Be 'mig', 'iscsi-a', 'lan'
        "$($policy.Sources['networks'])" | Should -Be "cluster 'prod'"
        ($policy | Format-List | Out-String -Width 300) | Should -Match 'Networks\s+: \{mig, iscsi-a, lan\}'

        $plan = Get-MigrationPlan web01 kvm02 -InventoryPath $copy -WarningVariable warnings -WarningAction SilentlyContinue
        $plan.Network | Should -Be 'mig'
        $plan.Failover.Network | Should -Be 'iscsi-a', 'lan'
        $plan.Failover[1].SourceInterface | Should -Be 'bond0'
        "$($plan.Failover[1].DestinationAddress)" | Should -Be '192.0.2.12'
        $plan.Failover[1].BandwidthGbps | Should -Be 2
        "$($plan.Failover[1])" | Should -Be 'lan (bond0 192.0.2.11 -> bond0 192.0.2.12, 2 Gbps)'
        $plan.Reasons | Should -Contain "If a connection on 'mig' fails, the engine carries on over 'iscsi-a', then 'lan', in the order of networks (from cluster 'prod')."
        "$warnings" | Should -Match "'iscsi-a' is a storage network that is closed to migrations unless requested"
        ($plan | Format-List | Out-String -Width 300) | Should -Match 'Failover\s+: iscsi-a \(ens2f0 203\.0\.113\.11 -> ens2f0 203\.0\.113\.12, 10 Gbps\)\s+lan \(bond0'
        ($plan | Format-Table | Out-String -Width 300) | Should -Not -Match 'Failover'
        $verbose = Get-MigrationPlan web01 kvm02 -InventoryPath $copy -Verbose -WarningAction SilentlyContinue 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        "$verbose" | Should -Match "Plan web01: If a connection on 'mig' fails, the engine carries on over 'iscsi-a', then 'lan'"

        $byName = Get-MigrationPlan web01 kvm02 -Network lan -InventoryPath $copy -WarningAction SilentlyContinue
        $byName.Network | Should -Be 'lan'
        $byName.Failover.Network | Should -Be 'mig', 'iscsi-a'

        $vm = Set-MigrationPolicy -VM web01 -Networks lan -InventoryPath $copy -PassThru
        $vm.Networks | Should -Be 'lan'
        "$($vm.Sources['networks'])" | Should -Be "VM 'web01'"
        $vmPlan = Get-MigrationPlan web01 kvm02 -InventoryPath $copy
        $vmPlan.Network | Should -Be 'lan'
        $vmPlan.Failover.Count | Should -Be 0
        (Get-MigrationPolicy -Cluster prod -InventoryPath $copy).Networks | Should -Be 'mig', 'iscsi-a', 'lan'

        Set-MigrationPolicy -VM web01 -Clear networks -InventoryPath $copy
        Set-MigrationPolicy -Cluster prod -Clear Networks -Transport Direct -InventoryPath $copy
        Get-Hash $copy | Should -Be $before
    }

    It 'refuses -Networks <Value> and leaves the file' -ForEach @(
        @{ Value = @('mig', 'mgi'); Message = "'networks' of the migration policy of cluster 'prod' names network 'mgi', which is not in networks (known: lan, corosync, iscsi-a, iscsi-b, mig); did you mean 'mig'?" }
        @{ Value = @('lan', 'mig', 'LAN'); Message = "'networks' of the migration policy of cluster 'prod' names network 'lan' twice" }
    ) {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $record = Get-StopError { Set-MigrationPolicy -Cluster prod -Networks $Value -InventoryPath $copy -ErrorAction Stop }
        $record.FullyQualifiedErrorId | Should -BeLike 'PolicyRejected,*'
        "$($record.Exception.Message)" | Should -BeLike "*$Message*"
        Get-Hash $copy | Should -Be $before
    }
}

Describe 'Striping: stripe' {
    It 'is false by default, shown with -WhatIf, written on the cluster, won over by a VM (-Stripe:$false), and -Clear restores the file' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $policy = Get-MigrationPolicy -VM web01 -InventoryPath $copy
        $policy.Stripe | Should -BeFalse
        "$($policy.Sources['stripe'])" | Should -Be 'default'
        $out = Get-HostText { Set-MigrationPolicy -Cluster prod -Stripe -InventoryPath $copy -WhatIf }
        $out | Should -Match "stripe: false \(default\) -> true \(cluster 'prod'\)"
        Get-Hash $copy | Should -Be $before

        Set-MigrationPolicy -Cluster prod -Stripe -InventoryPath $copy
        (Get-Content -LiteralPath $copy) | Should -Contain '      stripe: true'
        $policy = Get-MigrationPolicy -VM web01 -InventoryPath $copy
        $policy.Stripe | Should -BeTrue
        "$($policy.Sources['stripe'])" | Should -Be "cluster 'prod'"
        ($policy | Format-List | Out-String -Width 300) | Should -Match 'Stripe\s+: True'

        $vm = Set-MigrationPolicy -VM web01 -Stripe:$false -InventoryPath $copy -PassThru
        $vm.Stripe | Should -BeFalse
        "$($vm.Sources['stripe'])" | Should -Be "VM 'web01'"
        (Get-Content -LiteralPath $copy) | Should -Contain '      stripe: false'
        (Get-MigrationPolicy -Cluster prod -InventoryPath $copy).Stripe | Should -BeTrue

        Set-MigrationPolicy -VM web01 -Clear stripe -InventoryPath $copy
        Set-MigrationPolicy -Cluster prod -Clear Stripe -InventoryPath $copy
        Get-Hash $copy | Should -Be $before
    }

    It 'spreads an engine plan''s connections over the networks, sums their bandwidth, and shows them in Format-List' {
        $copy = New-InventoryCopy
        Set-MigrationPolicy -Cluster prod -Networks mig, lan -Stripe -Transport Engine -InventoryPath $copy
        $single = Get-MigrationPlan web01 kvm02 -Network mig -InventoryPath $copy
        $lan = (Get-MigrationPlan web01 kvm02 -Network lan -InventoryPath $copy).Failover | Where-Object Network -EQ 'mig'

        $plan = Get-MigrationPlan web01 kvm02 -InventoryPath $copy
        $plan.Stripe.Path.Network | Should -Be 'mig', 'lan'
        ($plan.Stripe.Connections | Measure-Object -Sum).Sum | Should -Be $plan.Connections
        $plan.Stripe | ForEach-Object { $_.Connections | Should -BeGreaterOrEqual 1 }
        $plan.BandwidthGbps | Should -Be ($plan.Stripe.Path.BandwidthGbps | Measure-Object -Sum).Sum
        $plan.BandwidthGbps | Should -BeGreaterThan $lan.BandwidthGbps
        ($plan.Reasons -match '^stripe \(from cluster ''prod''\): the connections are spread over ''mig'' \(\d+\), ''lan'' \(\d+\)').Count | Should -Be 1
        ($plan | Format-List | Out-String -Width 300) | Should -Match 'Stripe\s+: \d+ connection\(s\) over mig \(\S+ [\d.]+ -> \S+ [\d.]+, \d+ Gbps\)\s+\d+ connection\(s\) over lan \(bond0'
        $single.Stripe.Path.Network | Should -Be 'mig', 'lan' # -Network names the carrier; the stripe still spreads
    }

    It 'shows what each network carried in a result''s Format-List' {
        $result = [PSMigration.Qemu.Migration.MigrationResult]::new()
        $result.Vm = 'web01'
        $result.Status = 'Completed'
        $result.Networks = [PSMigration.Engine.Transfer.NetworkCarried[]]@(
            [PSMigration.Engine.Transfer.NetworkCarried]::new('mig', 3, 1610612736),
            [PSMigration.Engine.Transfer.NetworkCarried]::new('lan', 2, 536870912))
        ($result | Format-List | Out-String -Width 300) | Should -Match 'Networks\s+: mig: 3 connection\(s\), 1536 MiB; lan: 2 connection\(s\), 512 MiB'
    }
}

Describe 'Emptying a host: Get-MigrationPlan -FromHost' {
    BeforeAll {
        # kvm02 has room for db01 (64 GiB) but not web01 as well; kvm03 declares no memory
        $Drain = Join-Path $TestDrive 'drain.yaml'
        (Get-Content $Sample -Raw).Replace("  - name: kvm02`n", "  - name: kvm02`n    memoryMiB: 98304`n    reservedMemoryMiB: 8192`n") | Set-Content $Drain -NoNewline
    }

    It 'plans every VM of the host in order, with its destination and predicted times' {
        $plans = Get-MigrationPlan -FromHost KVM01 -InventoryPath $Drain
        ($plans | ForEach-Object { "$($_.Order) $($_.Vm) $($_.DestinationHost)" }) -join ', ' | Should -Be '1 db01 kvm02, 2 web01 kvm03'
        $plans | ForEach-Object { $_.PredictedSeconds | Should -BeGreaterThan 0 }
        $plans[0].Reasons[0] | Should -BeLike 'Drain of kvm01: kvm02 takes db01 (65536 MiB): the fastest path*'
    }

    It 'writes a VM no allowed host can take as a VMNotPlaceable error naming each host''s reason, and the rest as plans' {
        $plans = Get-MigrationPlan -FromHost kvm01 kvm02 -InventoryPath $Drain -ErrorVariable err -ErrorAction SilentlyContinue
        $plans.Vm | Should -Be 'db01'
        $err[0].FullyQualifiedErrorId | Should -Be 'VMNotPlaceable,PSMigration.PowerShell.GetMigrationPlanCommand'
        $err[0].TargetObject | Should -Be 'web01'
        $err[0].Exception.Message | Should -BeLike '*kvm02 has 16384 MiB left, web01 needs 32768 MiB*'
    }

    It 'tells the drain''s decisions and its predicted time with -Verbose' {
        $verbose = Get-MigrationPlan -FromHost kvm01 -InventoryPath $Drain -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message -join "`n") | Should -BeLike '*Drain of kvm01: 2 move(s), predicted * s; 0 VM(s) no host can take*'
        ($verbose.Message -join "`n") | Should -BeLike '*kvm03 declares no memoryMiB*'
    }

    It 'refuses a VM plan without -Destination, saying what to give' {
        { Get-MigrationPlan web01 -InventoryPath $Sample -ErrorAction Stop } | Should -Throw -ErrorId 'DestinationMissing,PSMigration.PowerShell.GetMigrationPlanCommand'
    }
}

Describe 'Maintenance: Suspend-MigrationHost and Resume-MigrationHost' {
    It 'says with -WhatIf what it would change and leaves the file' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $out = Get-HostText { Suspend-MigrationHost kvm01 -InventoryPath $copy -WhatIf }
        $out | Should -BeLike '*Put in maintenance (no VM is moved to it): host kvm01 in*'
        Get-Hash $copy | Should -Be $before
    }

    It 'suspends the hosts piped from Get-MigrationHost, after which no plan goes there, and resume restores the file' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $hosts = Get-MigrationHost 'KVM0[12]' -InventoryPath $copy | Suspend-MigrationHost -PassThru -Confirm:$false
        $hosts.Name | Should -Be 'kvm01', 'kvm02'
        $hosts.InMaintenance | Should -Be $true, $true
        $record = Get-StopError { Get-MigrationPlan build01 kvm01 -InventoryPath $copy -ErrorAction Stop }
        $record.FullyQualifiedErrorId | Should -Be 'DestinationInMaintenance,PSMigration.PowerShell.GetMigrationPlanCommand'
        Resume-MigrationHost 'kvm0*' -InventoryPath $copy -Confirm:$false
        Get-Hash $copy | Should -Be $before
    }

    It 'reports an unknown host as HostNotFound with a did-you-mean, and leaves the file' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $record = Get-StopError { Suspend-MigrationHost kvm9 -InventoryPath $copy -Confirm:$false -ErrorAction Stop }
        $record.FullyQualifiedErrorId | Should -Be 'HostNotFound,PSMigration.PowerShell.SuspendMigrationHostCommand'
        $record.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Get-Hash $copy | Should -Be $before
    }
}

Describe 'Drains and failback: Suspend-MigrationHost -Drain, Resume-MigrationHost -Failback' {
    It 'has the parameter sets <Sets> on <Command>, <Default> by default' -ForEach @(
        @{ Command = 'Suspend-MigrationHost'; Sets = 'Drain,Maintenance'; Default = 'Maintenance' }
        @{ Command = 'Resume-MigrationHost'; Sets = 'Failback,Maintenance'; Default = 'Maintenance' }
    ) {
        $found = (Get-Command $Command).ParameterSets
        ($found.Name | Sort-Object) -join ',' | Should -Be $Sets
        ($found | Where-Object IsDefault).Name | Should -Be $Default
        $move = $found | Where-Object Name -NE 'Maintenance'
        ($move.Parameters.Name -contains 'AsJob') | Should -BeTrue
        (($found | Where-Object Name -EQ 'Maintenance').Parameters.Name -contains 'PassThru') | Should -BeTrue
        ($move.Parameters.Name -contains 'PassThru') | Should -BeFalse
    }

    It 'prints the drain plan with -WhatIf, and leaves the file byte-identical and writes no drain record' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $out = Get-HostText { Suspend-MigrationHost KVM01 -Drain -InventoryPath $copy -WhatIf }
        $out | Should -BeLike '*Put kvm01 in maintenance and move its VMs off it:*drain of kvm01: 2 move(s), predicted * s*'
        $out | Should -BeLike "*1. db01 -> kvm02 over 'mig' (10 Gbps), starts at 0 s*2. web01 -> kvm02 over 'mig'*"
        $out | Should -BeLike '*at most 1 at once from kvm01 (maxConcurrentOutgoing)*'
        Get-Hash $copy | Should -Be $before
        Get-DrainRecord $copy | Should -BeNullOrEmpty
    }

    It 'drains only to the hosts -Destination names' {
        $copy = New-InventoryCopy
        $out = Get-HostText { Suspend-MigrationHost kvm01 -Drain -Destination kvm03 -InventoryPath $copy -WhatIf }
        $out | Should -BeLike "*1. db01 -> kvm03 over 'lan'*2. web01 -> kvm03 over 'lan'*"
        $out | Should -BeLike '*kvm02 takes no VM: not among the destinations asked for*'
    }

    It 'refuses <Given> without <Switch> as <Id>, before reading or writing anything' -ForEach @(
        @{ Given = '-Destination'; Switch = '-Drain'; Id = 'DrainMissing'; Run = { param($p) Suspend-MigrationHost kvm01 -Destination kvm02 -InventoryPath $p -Confirm:$false -ErrorAction Stop }; Message = '-Destination goes with -Drain: give -Drain too' }
        @{ Given = '-AsJob'; Switch = '-Drain'; Id = 'DrainMissing'; Run = { param($p) Suspend-MigrationHost kvm01 -AsJob -InventoryPath $p -Confirm:$false -ErrorAction Stop }; Message = '-AsJob goes with -Drain: give -Drain too' }
        @{ Given = '-AsJob'; Switch = '-Failback'; Id = 'FailbackMissing'; Run = { param($p) Resume-MigrationHost kvm01 -AsJob -InventoryPath $p -Confirm:$false -ErrorAction Stop }; Message = '-AsJob goes with -Failback: give -Failback too' }
    ) {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $record = Get-StopError { & $Run $copy }
        $record.FullyQualifiedErrorId | Should -BeLike "$Id,PSMigration.PowerShell.*MigrationHostCommand"
        $record.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $record.Exception.Message | Should -BeExactly $Message
        Get-Hash $copy | Should -Be $before
        Get-DrainRecord $copy | Should -BeNullOrEmpty
    }

    It 'says with -Failback -WhatIf that there is nothing to bring back when the host has no drain record' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $out = Get-HostText { Resume-MigrationHost kvm01 -Failback -InventoryPath $copy -WhatIf }
        $out | Should -BeLike '*WARNING: No drain of kvm01 has moved a VM that is not back yet: nothing to bring back.*'
        $out | Should -BeLike '*Take kvm01 out of maintenance and bring back its VMs:*failback to kvm01: 0 move(s)*'
        $warned = Resume-MigrationHost kvm01 -Failback -InventoryPath $copy -WhatIf 3>&1 6>$null | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }
        "$warned" | Should -BeExactly 'No drain of kvm01 has moved a VM that is not back yet: nothing to bring back.'
        Get-Hash $copy | Should -Be $before
        Get-DrainRecord $copy | Should -BeNullOrEmpty
    }

    It 'plans a failback from the drain record with -WhatIf, notes what moved since, and leaves the record as it was' {
        $copy = New-InventoryCopy 'recorded.yaml'
        $record = Join-Path $TestDrive '.recorded.yaml.drained-kvm01.json'
        Set-Content -LiteralPath $record -NoNewline -Value (@{
                host  = 'kvm01'
                moves = @(
                    @{ vm = 'build01'; destination = 'kvm02'; movedAt = '2026-01-01T00:00:00Z' }
                    @{ vm = 'web01'; destination = 'kvm03'; movedAt = '2026-01-01T00:00:00Z' }
                )
            } | ConvertTo-Json -Depth 4)
        $before = Get-Hash $copy
        $recorded = Get-Hash $record
        $out = Get-HostText { Resume-MigrationHost kvm01 -Failback -InventoryPath $copy -WhatIf -WarningAction SilentlyContinue }
        $out | Should -BeLike "*failback to kvm01: 1 move(s)*1. build01: kvm02 -> kvm01 over 'mig' (10 Gbps)*"
        $out | Should -BeLike '*web01 is on kvm01 already; the drain record forgets it.*'
        Get-Hash $copy | Should -Be $before
        Get-Hash $record | Should -Be $recorded
    }

    It 'reports a drain record it cannot read as DrainRecordUnreadable, naming the file' {
        $copy = New-InventoryCopy 'unreadable.yaml'
        $record = Join-Path $TestDrive '.unreadable.yaml.drained-kvm01.json'
        Set-Content -LiteralPath $record -Value '{ "host": "kvm01", "moves": [ '
        $failure = Get-StopError { Resume-MigrationHost kvm01 -Failback -InventoryPath $copy -WhatIf -ErrorAction Stop }
        $failure.FullyQualifiedErrorId | Should -Be 'DrainRecordUnreadable,PSMigration.PowerShell.ResumeMigrationHostCommand'
        $failure.Exception.Message | Should -BeLike 'Cannot read /*/.unreadable.yaml.drained-kvm01.json, the record of what drains moved off kvm01:*Fix or remove it*'
        $record | Should -Exist # left for the user to look at
    }

    It 'drains a host without VMs for real: in maintenance, a summary with nothing moved, no record; and fails back' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $summary = Suspend-MigrationHost kvm03 -Drain -InventoryPath $copy -Confirm:$false
        $summary | Should -BeOfType 'PSMigration.Qemu.Operations.DrainSummary'
        $summary.Host | Should -Be 'kvm03'
        $summary.Maintenance | Should -BeTrue
        $summary.Moved.Count + $summary.Failed.Count + $summary.Remaining.Count | Should -Be 0
        (Get-MigrationHost kvm03 -InventoryPath $copy).InMaintenance | Should -BeTrue
        Get-DrainRecord $copy | Should -BeNullOrEmpty

        $back = Resume-MigrationHost kvm03 -Failback -InventoryPath $copy -Confirm:$false -WarningAction SilentlyContinue
        $back.Maintenance | Should -BeFalse
        $back.Notes | Should -Be 'No drain of kvm03 has moved a VM that is not back yet: nothing to bring back.'
        Get-Hash $copy | Should -Be $before
    }

    It 'forgets, in a failback, the recorded VMs that moved since or are back already, and removes the emptied record' {
        $copy = New-InventoryCopy 'stale.yaml'
        Suspend-MigrationHost kvm01 -InventoryPath $copy -Confirm:$false
        $record = Join-Path $TestDrive '.stale.yaml.drained-kvm01.json'
        Set-Content -LiteralPath $record -Value (@{
                host  = 'kvm01'
                moves = @(
                    @{ vm = 'build01'; destination = 'kvm03'; movedAt = '2026-01-01T00:00:00Z' }
                    @{ vm = 'web01'; destination = 'kvm02'; movedAt = '2026-01-01T00:00:00Z' }
                )
            } | ConvertTo-Json -Depth 4)
        $summary = Resume-MigrationHost kvm01 -Failback -InventoryPath $copy -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue
        $summary.Maintenance | Should -BeFalse
        $summary.Results.Count | Should -Be 0
        $summary.Remaining.Count | Should -Be 0
        ($summary.Notes -join "`n") | Should -BeLike '*build01 stays on kvm02: it has moved since the drain put it on kvm03; the drain record forgets it.*'
        ($warned -join "`n") | Should -BeLike '*web01 is on kvm01 already; the drain record forgets it.*'
        $record | Should -Not -Exist
        Get-MigrationVM build01 -InventoryPath $copy | Select-Object -ExpandProperty Host | Should -Be 'kvm02'
    }

    It 'leaves the inventory and the record alone when the drain cannot start here (this machine is no host of the inventory)' {
        $copy = New-InventoryCopy
        $before = Get-Hash $copy
        $summary = Suspend-MigrationHost kvm01 -Drain -InventoryPath $copy -PkiPath (New-SamplePki) -RunDirectory $TestDrive -Confirm:$false -ErrorVariable problems -ErrorAction SilentlyContinue
        $summary | Should -BeNullOrEmpty
        $problems[0].FullyQualifiedErrorId | Should -Be 'NotOnAClusterHost,PSMigration.PowerShell.SuspendMigrationHostCommand'
        Get-Hash $copy | Should -Be $before
        Get-DrainRecord $copy | Should -BeNullOrEmpty
    }

    It 'drains in the background with -AsJob: Receive-Job gives the summary' {
        $copy = New-InventoryCopy
        $job = Suspend-MigrationHost kvm03 -Drain -AsJob -InventoryPath $copy -Confirm:$false
        $job | Should -BeOfType 'System.Management.Automation.Job'
        # Wait-Job first, so Receive-Job reads a finished job: a drain of a host without VMs ends in milliseconds, and
        # ReceiveJobCommand can remove a job twice when it ends while -Wait subscribes to it (one CI run failed there).
        $null = $job | Wait-Job -Timeout 60
        $summary = Receive-Job $job -Wait -AutoRemoveJob -ErrorVariable jobErrors -ErrorAction SilentlyContinue
        ($jobErrors | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" }) -join "`n" | Should -BeNullOrEmpty
        $job.State | Should -Be 'Completed'
        $summary.Host | Should -Be 'kvm03'
        $summary.Maintenance | Should -BeTrue
        (Get-MigrationHost kvm03 -InventoryPath $copy).InMaintenance | Should -BeTrue
    }

    It 'shows a summary as a table with Host, Maintenance, Moved, Failed and Remaining, and its notes in Format-List' {
        $copy = New-InventoryCopy
        $summary = Resume-MigrationHost kvm02 -Failback -InventoryPath $copy -Confirm:$false -WarningAction SilentlyContinue
        $table = $summary | Out-String -Width 300
        foreach ($column in 'Host', 'Maintenance', 'Moved', 'Failed', 'Remaining') { $table | Should -Match "\b$column\b" }
        $table | Should -Match '\bkvm02\s+False\b'
        $table | Should -Not -Match 'Notes|InventoryPath'
        $list = $summary | Format-List | Out-String -Width 300
        $list | Should -Match 'Notes\b.*No drain of kvm02 has moved a VM'
        $list | Should -Match 'Results'
        $list | Should -Match 'InventoryPath'
    }
}

Describe 'Help' {
    It 'has full help with examples for Test-VMMigration' {
        $help = Get-Help Test-VMMigration -Full
        $help.Synopsis | Should -Match 'can move'
        @($help.Examples.Example).Count | Should -BeGreaterThan 1
    }

    It 'has no online address to fail on: Get-Help -Online says there is none' {
        $record = Get-StopError { Get-Help Get-MigrationPlan -Online -ErrorAction Stop }
        $record.Exception.Message | Should -Not -Match '\.md'
        $record.Exception.Message | Should -Match 'not specified'
        (Get-Help Get-MigrationPlan).relatedLinks.navigationLink.linkText | Should -Contain 'Start-VMMigration'
    }

    It 'completes names in any case and the new cmdlet''s parameters' {
        Get-Completion "Get-MigrationPlan -InventoryPath '$Sample' -VM WE" | Should -Be 'web01'
        Get-Completion "Test-VMMigration web01 -InventoryPath '$Sample' -Destination KVM0" | Should -Be 'kvm01', 'kvm02', 'kvm03'
        Get-Completion "Set-MigrationPolicy -InventoryPath '$Sample' -Cluster P" | Should -Be 'prod'
        Get-Completion "Get-MigrationVM -InventoryPath '$Sample' -HostName kvm0" | Should -Be 'kvm01', 'kvm02', 'kvm03'
    }
}
