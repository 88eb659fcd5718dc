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
        'Set-MigrationPolicy'
        'Start-VMMigration'
        'Test-MigrationNetwork'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('KVM', 'QEMU', 'libvirt', 'LiveMigration', 'Multifd', 'Linux', 'Virtualization')
            ProjectUri   = 'https://example.invalid/psmigration'
            ReleaseNotes = 'Inventory, network selector, connection planner and policies: Get-MigrationPlan, Get-/Set-MigrationPolicy, Get-MigrationHost, Get-MigrationVM.'
        }
    }
}
