using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Qemu.Libvirt;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Qmp;
using PSMigration.Qemu.Readiness;

namespace PSMigration.Qemu.Operations;

/// <summary>Get-MigrationPlan -Predict, psmig plan --predict and the what-if previews: a <see cref="ConvergencePrediction"/>
/// from the running guest's dirty rate, sampled on this host (run it on the source host) over its QMP socket or, for a
/// libvirt domain, through libvirt; and the plan's bandwidth or one the user measured (Test-MigrationNetwork).</summary>
public static class ConvergenceForecast
{
    private static readonly TimeSpan QmpTimeout = TimeSpan.FromSeconds(5);

    /// <param name="measuredGbps">A measured bandwidth to predict with instead of the plan's; null: the plan's.</param>
    public static async Task<MigrationPlan> PredictAsync(MigrationInventory inventory, MigrationPlan plan, string runDirectory, double? measuredGbps,
        IActivityLog log, CancellationToken cancel)
    {
        var request = MigrationRequest.For(inventory, plan, "") with { RunDirectory = runDirectory };
        return plan with { Prediction = await PredictAsync(request, measuredGbps, log, cancel) };
    }

    /// <summary>The prediction for the request as it would run (its timeout included). PredictionUnavailable when its VM
    /// is not on this machine or not running; QMP's and libvirt's own errors when it cannot be reached.</summary>
    public static async Task<ConvergencePrediction> PredictAsync(MigrationRequest request, double? measuredGbps, IActivityLog log, CancellationToken cancel)
    {
        var dirty = await SampleAsync(request, log, cancel);
        var plan = request.Plan;
        var prediction = ConvergencePrediction.Predict(request.Vm.MemoryMiB, dirty, measuredGbps ?? plan.BandwidthGbps, plan, request.EffectiveTimeout);
        log.Verbose($"{plan.Vm}: {prediction.Reason}");
        return prediction;
    }

    private static async Task<double> SampleAsync(MigrationRequest request, IActivityLog log, CancellationToken cancel)
    {
        var vm = request.Vm;
        // Sampled only where the VM runs: elsewhere its socket or domain name could be another machine's VM.
        if (request.Remote is not null || request.NotRunnableHere is not null)
            throw Unavailable(vm.Name, $"{vm.Name} runs on {request.Plan.SourceHost}, not on this machine: its dirty rate is sampled there");
        if (vm.Libvirt is { } libvirt)
        {
            using var connection = await Task.Run(() => LibvirtConnection.Open(libvirt.LocalUri), cancel);
            using var domain = connection.Domain(libvirt.Domain);
            RequireRunning(vm.Name, domain.State);
            log.Verbose($"{vm.Name}: sampling its dirty rate for {DirtyRate.Period.TotalSeconds:0} s (libvirt virDomainStartDirtyRateCalc, {libvirt})");
            return await DirtyRate.SampleAsync(domain, vm.Name, cancel);
        }
        if (vm.Qemu is null) throw Unavailable(vm.Name, $"{vm.Name} has neither a qemu nor a libvirt section in the inventory");
        await using var qmp = await QmpClient.ConnectAsync(request.QmpPath, QmpTimeout, cancel, log);
        RequireRunning(vm.Name, (await qmp.ExecuteAsync("query-status", null, cancel)).GetProperty("status").GetString());
        log.Verbose($"{vm.Name}: sampling its dirty rate for {DirtyRate.Period.TotalSeconds:0} s (QEMU calc-dirty-rate)");
        return await DirtyRate.SampleAsync(qmp, vm.Name, cancel);
    }

    /// <summary>A paused guest dirties nothing now, which says nothing of how it will once it runs.</summary>
    private static void RequireRunning(string vm, string? state)
    {
        if (state != "running") throw Unavailable(vm, $"{vm} is {state}, not running: only a running guest's dirty rate can be sampled");
    }

    private static MigrationException Unavailable(string vm, string why) => new("PredictionUnavailable", FailureKind.OperationFailed, why, vm);
}
