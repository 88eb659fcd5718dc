namespace PSMigration.Qemu.Incoming;

/// <summary>How an agent starts twins: which QEMU binaries it may run, where their files go, and
/// its cluster PKI (for QEMU's own TLS on the direct transport).</summary>
public sealed record QemuTwinOptions
{
    public required string HostName { get; init; }
    /// <summary>Full paths of the QEMU system emulators this agent runs; a VM names one by file name.</summary>
    public required IReadOnlyList<string> Binaries { get; init; }
    public required string RunDirectory { get; init; }
    public required string PkiDirectory { get; init; }
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>Every qemu-system-* in /usr/bin (Debian's packages), when the operator names none.</summary>
    public static IReadOnlyList<string> InstalledBinaries() =>
        Directory.Exists("/usr/bin") ? Directory.GetFiles("/usr/bin", "qemu-system-*").Order(StringComparer.Ordinal).ToList() : [];
}
