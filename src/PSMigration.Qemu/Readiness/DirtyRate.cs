using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Readiness;

/// <summary>The running guest's dirty rate, sampled by QEMU (<c>calc-dirty-rate</c>, page sampling: it reads a few hundred
/// pages per GiB over the period and counts those that changed), in MB/s. Nothing else changes in the guest.</summary>
internal static class DirtyRate
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    public static async Task<double> SampleAsync(QmpClient qmp, string vm, CancellationToken cancel)
    {
        await qmp.ExecuteAsync("calc-dirty-rate", new Dictionary<string, object> { ["calc-time"] = (int)Period.TotalSeconds }, cancel);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            await Task.Delay(Period / 4, cancel);
            var answer = await qmp.ExecuteAsync("query-dirty-rate", null, cancel);
            var status = answer.TryGetProperty("status", out var s) ? s.GetString() : null;
            if (status == "measured" && answer.TryGetProperty("dirty-rate", out var rate)) return rate.GetDouble();
            if (clock.Elapsed > Period * 10)
                throw new MigrationException("DirtyRateUnavailable", FailureKind.OperationFailed,
                    $"QEMU did not measure {vm}'s dirty rate within {(Period * 10).TotalSeconds:0} s (query-dirty-rate says '{status}')", vm);
        }
    }
}
