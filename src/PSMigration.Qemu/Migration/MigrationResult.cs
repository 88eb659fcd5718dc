using PSMigration.Core.Planning;
using System.Net;
using PSMigration.Core;
using PSMigration.Core.Policies;
using PSMigration.Engine.Transfer;

namespace PSMigration.Qemu.Migration;

/// <summary>What a migration did: the answer of <c>Start-VMMigration</c> and <c>psmig migrate</c>.
/// Property names are the JSON contract (camelCased).</summary>
public sealed record MigrationResult
{
    /// <summary>Completed, Failed or Cancelled.</summary>
    public required string Status { get; init; }
    public required string Vm { get; init; }
    public required string SourceHost { get; init; }
    public required string DestinationHost { get; init; }
    public required MigrationTransport Transport { get; init; }
    public required EncryptionMode Encryption { get; init; }
    public required string Network { get; init; }
    /// <summary>The source interface the traffic left by (for direct, the kernel's route to the destination).</summary>
    public string? SourceInterface { get; init; }
    public required IPAddress SourceAddress { get; init; }
    public required IPAddress DestinationAddress { get; init; }
    /// <summary>Parallel connections: multifd channels, or 1 when parallel is off.</summary>
    public int Connections { get; init; }
    /// <summary>Wall-clock time of the whole operation, from connecting to the VM to the inventory update.</summary>
    public long TotalTimeMs { get; init; }
    /// <summary>From the source pausing to the destination running: QEMU's downtime plus the commit.</summary>
    public long? DowntimeMs { get; init; }
    /// <summary>RAM bytes QEMU sent.</summary>
    public long Bytes { get; init; }
    /// <summary><see cref="Bytes"/> over QEMU's own migration time (MB = 10^6 bytes).</summary>
    public double ThroughputMBps { get; init; }
    /// <summary>Disk bytes the copy sent (copy-storage), over every disk in <see cref="Disks"/>.</summary>
    public long DiskBytes { get; init; }
    /// <summary>Each local disk copied: the destination's image, the source's (left in place), the bytes sent.</summary>
    public TextList<CopiedDisk> Disks { get; init; } = [];
    /// <summary>Bytes carried on each engine connection (each copied disk's NBD stream first, then the main channel, then multifd); empty for direct.</summary>
    public TextList<long> ChannelBytes { get; init; } = [];
    /// <summary>What it did to finish: none, autoConverge (the guest was throttled), postcopy or pause.</summary>
    public ConvergenceAction Action { get; init; }
    /// <summary>The most auto-converge throttled the guest's vCPUs, in percent (0: not at all).</summary>
    public int ThrottlePercent { get; init; }
    /// <summary>Each broken post-copy stream that was recovered: after how many bytes, how long it was lost, the attempts.</summary>
    public TextList<LinkRecovery> Recoveries { get; init; } = [];
    /// <summary>Engine transport: what each network carried (both ways), with how many connections started on it; one
    /// entry unless the migration was striped or failed over; empty for direct.</summary>
    public TextList<NetworkCarried> Networks { get; init; } = [];
    /// <summary>Each engine connection that broke and was taken over (maybe over another network), in order.</summary>
    public TextList<Failover> Failovers { get; init; } = [];
    public bool InventoryUpdated { get; init; }
    public string? ErrorId { get; init; }
    public string? Error { get; init; }
    public TextList<string> Warnings { get; init; } = [];

    public bool Succeeded => Status == MigrationStatusNames.Completed;
}

public static class MigrationStatusNames
{
    public const string Completed = "Completed";
    public const string Failed = "Failed";
    public const string Cancelled = "Cancelled";
}
