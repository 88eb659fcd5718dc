using System.Management.Automation;
using PSMigration.Qemu.Operations;

namespace PSMigration.PowerShell;

/// <summary>Creates the cluster PKI the migration engine and agents authenticate each other with: a CA
/// and a certificate per host of the inventory. An existing CA is reused for hosts without a certificate;
/// existing files are only replaced with -Force (a new CA and new certificates for every host).</summary>
[Cmdlet(VerbsCommon.New, "MigrationCertificate", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MigrationCertificateFile))]
public sealed class NewMigrationCertificateCommand : MigrationCmdlet
{
    /// <summary>The directory to write to (created for its owner only when it does not exist).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Replace an existing CA and every host certificate.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        Try(Path, () =>
        {
            var inventory = Inventory();
            var directory = GetUnresolvedProviderPathFromPSPath(Path);
            var planned = ClusterCertificates.Plan(inventory, directory, Force);
            if (planned.Count == 0)
            {
                Log.Verbose($"{directory} has the cluster CA and a certificate for every host of {inventory.Path}; nothing to do.");
                return;
            }
            var names = string.Join(", ", planned.Select(System.IO.Path.GetFileName));
            if (!ShouldProcess($"Write {names} to {directory}{(Force ? ", replacing the existing CA and certificates" : "")}.",
                    $"Write {planned.Count} PKI files ({names}) to {directory}?", "New-MigrationCertificate"))
                return;
            foreach (var file in ClusterCertificates.Initialize(inventory, directory, Force))
            {
                Log.Verbose($"Wrote {file}");
                WriteObject(new MigrationCertificateFile(file));
            }
        });
    }
}

/// <summary>A file New-MigrationCertificate wrote. Its Path binds to -Path of Get-Item, Copy-Item and friends.</summary>
public sealed class MigrationCertificateFile(string path)
{
    public string Name { get; } = System.IO.Path.GetFileName(path);
    public string Directory { get; } = System.IO.Path.GetDirectoryName(path) ?? "";
    public string Path { get; } = path;
    /// <summary>As Get-ChildItem shows it on Linux: -rw------- for a key.</summary>
    public string UnixMode { get; } = Describe(path);

    public override string ToString() => Path;

    private static string Describe(string path)
    {
        if (OperatingSystem.IsWindows()) return "";
        var mode = File.GetUnixFileMode(path);
        char Bit(UnixFileMode bit, char set) => (mode & bit) != 0 ? set : '-';
        return string.Concat('-',
            Bit(UnixFileMode.UserRead, 'r'), Bit(UnixFileMode.UserWrite, 'w'), Bit(UnixFileMode.UserExecute, 'x'),
            Bit(UnixFileMode.GroupRead, 'r'), Bit(UnixFileMode.GroupWrite, 'w'), Bit(UnixFileMode.GroupExecute, 'x'),
            Bit(UnixFileMode.OtherRead, 'r'), Bit(UnixFileMode.OtherWrite, 'w'), Bit(UnixFileMode.OtherExecute, 'x'));
    }
}
