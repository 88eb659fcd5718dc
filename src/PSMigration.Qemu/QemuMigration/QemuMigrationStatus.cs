using System.Text.Json;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.QemuMigration;

/// <summary>One <c>query-migrate</c> answer, the parts this module reports.</summary>
internal sealed record QemuMigrationStatus
{
    /// <summary>QEMU's phase: setup, active, device, completed, failed, cancelling, cancelled...</summary>
    public required string Status { get; init; }
    public long TransferredBytes { get; init; }
    public long RemainingBytes { get; init; }
    public long TotalBytes { get; init; }
    public double Mbps { get; init; }
    public long DirtyPagesRate { get; init; }
    public long PageSize { get; init; } = 4096;
    public long DirtySyncCount { get; init; }
    public long TotalTimeMs { get; init; }
    public long? ExpectedDowntimeMs { get; init; }
    public long? DowntimeMs { get; init; }
    public string? Error { get; init; }
    /// <summary>How much auto-converge throttles the guest's vCPUs now (cpu-throttle-percentage), in percent.</summary>
    public int ThrottlePercent { get; init; }

    public bool IsActive => Status is "setup" or "active" or "device" or "pre-switchover" or "postcopy-active" or "wait-unplug" or "cancelling";
    /// <summary>Of RAM, how much has been sent at least once (the first pass), in percent.</summary>
    public double Percent => TotalBytes > 0 ? Math.Clamp(100.0 * (TotalBytes - RemainingBytes) / TotalBytes, 0, 100) : 0;
    public double DirtyRateMBps => DirtyPagesRate * PageSize / 1e6;
    public double ThroughputMBps => Mbps / 8;

    /// <summary>The one mapping from QEMU's numbers to the module's progress.</summary>
    public MigrationProgress ToProgress(string vm, TimeSpan elapsed) =>
        new(vm, Status, Percent, TransferredBytes, RemainingBytes, ThroughputMBps, DirtyRateMBps, ExpectedDowntimeMs, DirtySyncCount, elapsed,
            ThrottlePercent: ThrottlePercent);

    public static QemuMigrationStatus Parse(JsonElement answer)
    {
        var ram = answer.TryGetProperty("ram", out var r) ? r : default;
        return new QemuMigrationStatus
        {
            Status = answer.TryGetProperty("status", out var s) ? s.GetString() ?? "none" : "none",
            TransferredBytes = Long(ram, "transferred") ?? 0,
            RemainingBytes = Long(ram, "remaining") ?? 0,
            TotalBytes = Long(ram, "total") ?? 0,
            Mbps = ram.ValueKind == JsonValueKind.Object && ram.TryGetProperty("mbps", out var m) ? m.GetDouble() : 0,
            DirtyPagesRate = Long(ram, "dirty-pages-rate") ?? 0,
            PageSize = Long(ram, "page-size") ?? 4096,
            DirtySyncCount = Long(ram, "dirty-sync-count") ?? 0,
            TotalTimeMs = Long(answer, "total-time") ?? 0,
            ExpectedDowntimeMs = Long(answer, "expected-downtime"),
            DowntimeMs = Long(answer, "downtime"),
            Error = answer.TryGetProperty("error-desc", out var e) ? e.GetString() : null,
            ThrottlePercent = (int)(Long(answer, "cpu-throttle-percentage") ?? 0),
        };
    }

    private static long? Long(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.TryGetInt64(out var number) ? number : null;
}
