using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Libvirt;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Readiness;

/// <summary>The running guest's dirty rate, sampled by QEMU (<c>calc-dirty-rate</c>, page sampling: it reads a few hundred
/// pages per GiB over the period and counts those that changed), in MB/s: over QMP for a QEMU VM, through libvirt's own
/// API for a domain (virDomainStartDirtyRateCalc, the dirtyrate stats group; the same QEMU command underneath, but at
/// QEMU's default sampling, which libvirt does not let us raise). Nothing else changes in the guest.</summary>
internal static class DirtyRate
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);
    /// <summary>QEMU's default, 512 per GiB, samples 64 pages of a 128 MiB guest: a guest dirtying 5 MiB/s was sampled as 0
    /// about one time in twelve. 4096 costs a few milliseconds more and leaves that near zero (QEMU allows up to 16384).</summary>
    private const int SamplePagesPerGiB = 4096;

    public static Task<double> SampleAsync(QmpClient qmp, string vm, CancellationToken cancel) =>
        PollAsync(vm, "QEMU", "query-dirty-rate",
            () => qmp.ExecuteAsync("calc-dirty-rate", new Dictionary<string, object> { ["calc-time"] = (int)Period.TotalSeconds, ["sample-pages"] = SamplePagesPerGiB }, cancel),
            async () =>
            {
                var answer = await qmp.ExecuteAsync("query-dirty-rate", null, cancel);
                var status = answer.TryGetProperty("status", out var s) ? s.GetString() : null;
                return (status, status == "measured" && answer.TryGetProperty("dirty-rate", out var rate) ? rate.GetDouble() : null);
            }, cancel);

    /// <summary>A libvirt domain's: its calls answer at once (they only start and read QEMU's calculation).</summary>
    public static Task<double> SampleAsync(LibvirtDomain domain, string vm, CancellationToken cancel) =>
        PollAsync(vm, "libvirt", "its dirtyrate statistics",
            () => Task.Run(() => domain.StartDirtyRateCalc((int)Period.TotalSeconds), cancel),
            () => Task.Run<(string?, double?)>(() => domain.DirtyRate(), cancel), cancel);

    /// <summary>Starts the calculation, then reads it until measured, for at most ten periods.</summary>
    private static async Task<double> PollAsync(string vm, string by, string read, Func<Task> start, Func<Task<(string? Status, double? Rate)>> query,
        CancellationToken cancel)
    {
        await start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            await Task.Delay(Period / 4, cancel);
            var (status, rate) = await query();
            if (rate is { } measured) return measured;
            if (clock.Elapsed > Period * 10)
                throw new MigrationException("DirtyRateUnavailable", FailureKind.OperationFailed,
                    $"{by} did not measure {vm}'s dirty rate within {(Period * 10).TotalSeconds:0} s ({read} says '{status}')", vm);
        }
    }
}
