namespace PSMigration.Qemu.Migration;

/// <summary>Where a running migration is, for Write-Progress and the CLI's progress line.</summary>
public sealed record MigrationProgress(
    string Vm, string Phase, double Percent, long TransferredBytes, long RemainingBytes, double ThroughputMBps,
    double DirtyRateMBps, long? ExpectedDowntimeMs, long Iteration, TimeSpan Elapsed)
{
    public string Describe() =>
        $"{Phase}: {Percent:0}% of RAM, {TransferredBytes / 1048576.0:0} MiB sent, {ThroughputMBps:0} MB/s, dirtying {DirtyRateMBps:0} MB/s" +
        (ExpectedDowntimeMs is { } d ? $", expected downtime {d} ms" : "") + $", pass {Iteration}, {Elapsed.TotalSeconds:0} s";
}
