using PSMigration.Core.Planning;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Operations;

/// <summary>What Start-VMMigration -WhatIf and psmig migrate --what-if show of one migration: its plan and its steps
/// (<see cref="MigrationBackends.Describe"/>), then a convergence step: the <see cref="ConvergenceForecast"/> from the
/// guest's dirty rate sampled now (also the plan's Prediction), or, when the VM cannot be sampled here, why not.</summary>
public sealed record MigrationPreview(MigrationPlan Plan, IReadOnlyList<string> Steps)
{
    public const string ConvergenceStep = "convergence: ";

    public static async Task<MigrationPreview> ForAsync(MigrationRequest request, CancellationToken cancel)
    {
        var steps = MigrationBackends.Describe(request).ToList();
        try
        {
            var prediction = await ConvergenceForecast.PredictAsync(request, null, request.Log, cancel);
            steps.Add($"{ConvergenceStep}{prediction.Reason} ({prediction.Numbers()})");
            return new(request.Plan with { Prediction = prediction }, steps);
        }
        catch (Exception e) when (e is not OperationCanceledException) // a preview never fails for want of its prediction
        {
            steps.Add($"{ConvergenceStep}not predicted: {e.Message}");
            return new(request.Plan, steps);
        }
    }
}
