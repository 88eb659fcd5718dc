using PSMigration.Core.Planning;
using PSMigration.Core.Yaml;
using PSMigration.Engine.Transfer;

namespace PSMigration.Qemu.Migration;

/// <summary>Where a running migration is, for Write-Progress and the CLI's progress line. While local disks are copied
/// (before memory moves) <see cref="Disks"/> holds each disk's progress and <see cref="Percent"/> is theirs.
/// <see cref="ThrottlePercent"/> is how much auto-converge holds the guest's vCPUs back; <see cref="Action"/> what was
/// done to finish so far.</summary>
public sealed record MigrationProgress(
    string Vm, string Phase, double Percent, long TransferredBytes, long RemainingBytes, double ThroughputMBps,
    double DirtyRateMBps, long? ExpectedDowntimeMs, long Iteration, TimeSpan Elapsed, IReadOnlyList<DiskProgress>? Disks = null,
    int ThrottlePercent = 0, ConvergenceAction Action = ConvergenceAction.None)
{
    /// <summary>The time left at the rates now: the remaining bytes over what the link gains on the guest's dirtying;
    /// null while the guest dirties as fast as the link carries (it does not converge so).</summary>
    public TimeSpan? TimeLeft => ThroughputMBps > DirtyRateMBps && RemainingBytes / 1e6 / (ThroughputMBps - DirtyRateMBps) is var seconds && seconds < MaxTimeLeftSeconds
        ? TimeSpan.FromSeconds(seconds)
        : null; // a gain of almost nothing: as good as not converging (and no TimeSpan holds its seconds)

    /// <summary>Past a day the time left means nothing.</summary>
    private const double MaxTimeLeftSeconds = 86400;

    /// <summary>The phase of a copy-storage migration before memory moves.</summary>
    public const string CopyingDisks = "copying disks";

    public string Describe() => Disks is { Count: > 0 } disks
        ? $"{Phase}: {Percent:0}%, {string.Join(", ", disks)}, {Elapsed.TotalSeconds:0} s"
        : $"{Phase}: {Percent:0}% of RAM, {TransferredBytes / 1048576.0:0} MiB sent, {ThroughputMBps:0} MB/s, dirtying {DirtyRateMBps:0} MB/s" +
          (ThrottlePercent > 0 ? $", vCPUs throttled {ThrottlePercent}%" : "") +
          (ExpectedDowntimeMs is { } d ? $", expected downtime {d} ms" : "") + $", pass {Iteration}, {Elapsed.TotalSeconds:0} s" +
          (Iteration > 1 && Phase == "active" ? TimeLeft is { } left ? $", ~{left.TotalSeconds:0} s left" : ", not converging at these rates" : "") +
          (Action is not ConvergenceAction.None ? $", {Spelling.Of(Action)}" : "");

    /// <summary>The disk phase's record: bytes copied and remaining over every disk.</summary>
    public static MigrationProgress OfDisks(string vm, IReadOnlyList<DiskProgress> disks, TimeSpan elapsed)
    {
        var copied = disks.Sum(d => d.CopiedBytes);
        var total = disks.Sum(d => d.TotalBytes);
        return new MigrationProgress(vm, CopyingDisks, total > 0 ? 100.0 * copied / total : 0, 0, 0,
            elapsed.TotalSeconds > 0 ? copied / 1e6 / elapsed.TotalSeconds : 0, 0, null, 0, elapsed, disks);
    }
}

/// <summary>One disk's copy: what the mirror has copied of what it must (the total grows with the guest's writes
/// until the job is ready; from then on every write is mirrored as it happens).</summary>
public sealed record DiskProgress(string Device, long CopiedBytes, long TotalBytes, bool Ready)
{
    public long RemainingBytes => Math.Max(0, TotalBytes - CopiedBytes);

    /// <summary>"drive0 120 MiB of 2 GiB" or "drive0 2 GiB, ready".</summary>
    public override string ToString() => Ready
        ? $"{Device} {ByteSize.Format(CopiedBytes)}, ready"
        : $"{Device} {ByteSize.Format(CopiedBytes)} of {ByteSize.Format(TotalBytes)} ({ByteSize.Format(RemainingBytes)} to go)";
}

/// <summary>A disk a migration copied: where the VM's disk now is, where the source's image remains, and the bytes sent
/// (null when the hypervisor counts only the total: libvirt).</summary>
public sealed record CopiedDisk(string Device, string Path, string SourcePath, long? Bytes)
{
    public override string ToString() => $"{Device} {Path} ({(Bytes is { } b ? ByteSize.Format(b) : "bytes counted with the other disks")}; the source's {SourcePath} remains)";
}

/// <summary>A post-copy stream that broke and was recovered: after <see cref="AtBytes"/> sent, <see cref="LostMs"/> without it
/// (the VM waited on the pages it lacked meanwhile), back on the <see cref="Attempts"/>th try.</summary>
public sealed record LinkRecovery(long AtBytes, long LostMs, int Attempts)
{
    public override string ToString() => $"at {ByteSize.Format(AtBytes)}: {LostMs / 1000.0:0.0} s lost, {Attempts} attempt(s)";
}
