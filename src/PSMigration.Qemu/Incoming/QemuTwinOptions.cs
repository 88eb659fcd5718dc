namespace PSMigration.Qemu.Incoming;

/// <summary>How an agent starts twins: from which inventory, with which QEMU binaries, where their files go, which host
/// paths their arguments may name, as which user, and its cluster PKI (for QEMU's own TLS on the direct transport).</summary>
public sealed record QemuTwinOptions
{
    public required string HostName { get; init; }
    /// <summary>The agent's own inventory: what a twin runs comes from here, never from the source.</summary>
    public required string InventoryPath { get; init; }
    /// <summary>Full paths of the QEMU system emulators this agent runs; a VM names one by file name.</summary>
    public required IReadOnlyList<string> Binaries { get; init; }
    public required string RunDirectory { get; init; }
    public required string PkiDirectory { get; init; }
    /// <summary>Folders besides the run directory and QEMU's firmware where the VMs' files (disks, kernels) may be.</summary>
    public IReadOnlyList<string> StorageRoots { get; init; } = [];
    /// <summary>The unprivileged user twins run as once set up (<c>-runas</c>); null: root, confined by the sandbox only.</summary>
    public string? TwinUser { get; init; }
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Every qemu-system-* in /usr/bin (Debian's packages), when the operator names none.</summary>
    public static IReadOnlyList<string> InstalledBinaries() =>
        Directory.Exists("/usr/bin") ? Directory.GetFiles("/usr/bin", "qemu-system-*").Order(StringComparer.Ordinal).ToList() : [];
}
