using System.Management.Automation;
using PSMigration.Engine.Security;

namespace PSMigration.PowerShell;

/// <summary>The cmdlets that run on a VM's source host and reach its QEMU and the destination's agent
/// (Start-VMMigration, Test-VMMigration): where this host's certificate and its VMs' sockets are.</summary>
public abstract class SourceHostCmdlet : MigrationCmdlet
{
    /// <summary>The cluster PKI folder with this host's certificate.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string PkiPath { get; set; } = PkiPaths.DefaultDirectory;

    /// <summary>This host's run directory ({runDir} in the inventory): QMP sockets and migration sockets.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string RunDirectory { get; set; } = Qemu.Launch.RunDirectory.Default;

    protected string PkiDirectory => GetUnresolvedProviderPathFromPSPath(PkiPath);
    protected string RunDirectoryPath => GetUnresolvedProviderPathFromPSPath(RunDirectory);
}
