using PSMigration.Core.Policies;

namespace PSMigration.Qemu.QemuMigration;

/// <summary>The migration capabilities and parameters both QEMUs get, from the plan (<see cref="MigrationSetup"/>).</summary>
internal sealed record MigrationSettings
{
    public bool Multifd { get; init; }
    /// <summary>multifd-channels (when <see cref="Multifd"/>).</summary>
    public int Channels { get; init; } = 1;
    /// <summary>zlib or zstd: multifd-compression; xbzrle: a capability, without multifd.</summary>
    public CompressionMethod Compression { get; init; } = CompressionMethod.None;
    public int DowntimeLimitMs { get; init; } = 300;
    /// <summary>max-bandwidth in bytes per second.</summary>
    public long MaxBandwidth { get; init; }
    public bool Postcopy { get; init; }
    /// <summary>auto-converge, with QEMU's throttle at 20% at first and 10% more each pass.</summary>
    public bool AutoConverge { get; init; }
}
