using System.Runtime.InteropServices;
using PSMigration.Qemu.Migration;
using static PSMigration.Qemu.Libvirt.LibvirtNative;

namespace PSMigration.Qemu.Libvirt;

/// <summary>A domain job's statistics (virDomainGetJobStats) as far as a migration's progress and result need them.</summary>
internal sealed record LibvirtJobStats
{
    /// <summary>virDomainJobType: bounded or unbounded (running), completed, failed or cancelled.</summary>
    public required string Type { get; init; }
    public long ElapsedMs { get; init; }
    public long DataTotal { get; init; }
    public long DataProcessed { get; init; }
    public long DataRemaining { get; init; }
    /// <summary>Bytes per second on the wire.</summary>
    public long MemoryBps { get; init; }
    /// <summary>Pages the guest dirties per second, of <see cref="PageSize"/> bytes.</summary>
    public long DirtyPagesPerSecond { get; init; }
    public long PageSize { get; init; }
    public long Iteration { get; init; }
    /// <summary>Expected downtime of a running job; the measured one of a completed job.</summary>
    public long? DowntimeMs { get; init; }
    /// <summary>The NBD copies of a copy-storage migration (included in the data numbers).</summary>
    public long DiskTotal { get; init; }
    public long DiskProcessed { get; init; }
    public long DiskRemaining { get; init; }
    /// <summary>libvirt's error for a failed job, when it kept one.</summary>
    public string? Error { get; init; }
    /// <summary>How much auto-converge throttles the guest's vCPUs (auto_converge_throttle), in percent.</summary>
    public int ThrottlePercent { get; init; }

    public bool IsActive => Type is "bounded" or "unbounded";

    internal static LibvirtJobStats Read(int type, IntPtr parameters, int count)
    {
        long Number(string name) => virTypedParamsGetULLong(parameters, count, name, out var value) == 1 ? (long)value : 0;
        long? Optional(string name) => virTypedParamsGetULLong(parameters, count, name, out var value) == 1 ? (long)value : null;
        string? Text(string name) => virTypedParamsGetString(parameters, count, name, out var value) == 1 ? Marshal.PtrToStringUTF8(value) : null;
        return new LibvirtJobStats
        {
            Type = type switch { 1 => "bounded", 2 => "unbounded", 3 => "completed", 4 => "failed", 5 => "cancelled", _ => $"type {type}" },
            ElapsedMs = Number("time_elapsed"),
            DataTotal = Number("data_total"),
            DataProcessed = Number("data_processed"),
            DataRemaining = Number("data_remaining"),
            MemoryBps = Number("memory_bps"),
            DirtyPagesPerSecond = Number("memory_dirty_rate"),
            PageSize = Optional("memory_page_size") ?? 4096,
            Iteration = Number("memory_iteration"),
            DowntimeMs = Optional("downtime"),
            DiskTotal = Number("disk_total"),
            DiskProcessed = Number("disk_processed"),
            DiskRemaining = Number("disk_remaining"),
            Error = Text("errmsg"),
            ThrottlePercent = virTypedParamsGetInt(parameters, count, "auto_converge_throttle", out var throttle) == 1 ? throttle : 0,
        };
    }

    public double Percent => DataTotal > 0 ? Math.Min(100, 100.0 * DataProcessed / DataTotal) : 0;

    /// <summary>While libvirt copies the disks (before memory), their progress (libvirt counts them together); then memory's.</summary>
    public MigrationProgress ToProgress(string vm, TimeSpan elapsed) => IsActive && DiskRemaining > 0
        ? MigrationProgress.OfDisks(vm, [new DiskProgress("disks", DiskProcessed, DiskTotal, false)], elapsed)
        : new(vm, IsActive ? "active" : Type, Percent, DataProcessed - DiskProcessed, DataRemaining - DiskRemaining, MemoryBps / 1e6,
            DirtyPagesPerSecond * PageSize / 1e6, IsActive ? DowntimeMs : null, Iteration, elapsed, ThrottlePercent: ThrottlePercent);
}
