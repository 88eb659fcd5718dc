@{
    RootModule           = 'Migration.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6d8f3c2a-4b1e-4f7a-9c53-2e8a1d0b7f41'
    Author               = 'PSMigration'
    CompanyName          = 'PSMigration'
    Copyright            = '(c) PSMigration. All rights reserved.'
    Description          = 'Live-migrate KVM/QEMU virtual machines between Linux hosts over the right network, with the right number of parallel connections, and say why.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('Migration.format.ps1xml')
    CmdletsToExport      = @(
        'Get-MigrationHost'
        'Get-MigrationPlan'
        'Get-MigrationPolicy'
        'Get-MigrationVM'
        'New-MigrationCertificate'
        'Resume-MigrationHost'
        'Set-MigrationPolicy'
        'Start-VMMigration'
        'Suspend-MigrationHost'
        'Test-MigrationNetwork'
        'Test-VMMigration'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            # PowerShellGet adds PSModule, PSEdition_Core, PSIncludes_Cmdlet and PSCmdlet_/PSCommand_<name>
            # when it publishes; packaging/Migration.Module.proj writes the same into the .nuspec.
            Tags         = @('KVM', 'QEMU', 'libvirt', 'LiveMigration', 'Migration', 'Multifd', 'Linux', 'Virtualization')
            # ProjectUri and LicenseUri (and a HelpInfoUri) come once the project has a public home and a
            # license; until then none is given: a placeholder address would reach users (Get-Help, the gallery).
            # One place for the release notes: the .nupkg's releaseNotes are taken from here.
            ReleaseNotes = '0.1.0 - first release.
- Planning: Get-MigrationHost, Get-MigrationVM and Get-MigrationPlan read a YAML host inventory and choose the network (interface pair) and the number of parallel connections for each migration, and say why (and why not the others).
- Policies: Get-MigrationPolicy and Set-MigrationPolicy show and set cluster and per-VM migration policies, with the source of every value.
- Network test: Test-MigrationNetwork measures every network two hosts share through the destination agent with 1..N parallel connections, and reports the NIC that really carried the bytes.
- Live migration: Start-VMMigration live-migrates QEMU VMs (QMP) and libvirt domains, with progress, cancellation and a result that says what happened; -WhatIf shows the exact calls.
- Transports: direct (QEMU multifd or libvirt over the chosen NIC) or engine (the streams relayed through the module''s own parallel TLS connections to the psmig agent on one port).
- New-MigrationCertificate makes the cluster CA and host certificates for the agents.
- The psmig command line (a dotnet tool) offers the same verbs for shells without PowerShell, and runs the agent (deploy/systemd/psmigration-agent.service).'
        }
    }
}
