using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Qmp;
using PSMigration.Qemu.Readiness;

namespace PSMigration.Qemu.Operations;

/// <summary>Get-MigrationPlan -Predict, psmig plan --predict: the plan with a <see cref="ConvergencePrediction"/> from the
/// running guest's dirty rate, sampled over its QMP socket on this host (run it on the source host), and the plan's
/// bandwidth or one the user measured (Test-MigrationNetwork).</summary>
public static class ConvergenceForecast
{
    private static readonly TimeSpan QmpTimeout = TimeSpan.FromSeconds(5);

    /// <param name="measuredGbps">A measured bandwidth to predict with instead of the plan's; null: the plan's.</param>
    public static async Task<MigrationPlan> PredictAsync(MigrationInventory inventory, MigrationPlan plan, string runDirectory, double? measuredGbps,
        IActivityLog log, CancellationToken cancel)
    {
        var request = MigrationRequest.For(inventory, plan, "") with { RunDirectory = runDirectory };
        if (request.Vm.Qemu is null)
            throw new MigrationException("PredictionUnavailable", FailureKind.OperationFailed,
                $"{plan.Vm} is a libvirt domain: its dirty rate is not sampled yet, so there is no prediction (its plan is as without -Predict)", plan.Vm);
        await using var qmp = await QmpClient.ConnectAsync(request.QmpPath, QmpTimeout, cancel, log);
        log.Verbose($"{plan.Vm}: sampling its dirty rate for {DirtyRate.Period.TotalSeconds:0} s (QEMU calc-dirty-rate)");
        var dirty = await DirtyRate.SampleAsync(qmp, plan.Vm, cancel);
        var bandwidth = measuredGbps ?? plan.BandwidthGbps;
        var prediction = ConvergencePrediction.Predict(request.Vm.MemoryMiB, dirty, bandwidth, plan, request.EffectiveTimeout);
        log.Verbose($"{plan.Vm}: {prediction.Reason}");
        return plan with { Prediction = prediction };
    }
}
