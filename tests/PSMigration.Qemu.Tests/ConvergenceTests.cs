using PSMigration.Core.Planning;
using PSMigration.Core;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Tests;

/// <summary>A guest that dirties its memory faster than a capped link carries it (200 MiB/s over 0.3 Gbit/s, about
/// 37 MB/s) does not converge as it is; with the policy's convergence actions it still arrives, its memory verified by
/// the guest at the destination: auto-converge throttles it, timeoutAction pause stops it at the source for the rest
/// (a longer downtime, reported), timeoutAction postcopy runs it at the destination (the source can no longer resume
/// it, and the result says so). progressTimeout catches the stall sooner than the timeout.</summary>
[Collection(QemuLabCollection.Name)]
public sealed class ConvergenceTests(QemuLab lab)
{
    private const string Busy = "parallel: Disabled, transport: direct, encryption: none, bandwidthGbps: 0.3";
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [QemuFact]
    public async Task Auto_converge_throttles_the_busy_guest_until_it_arrives()
    {
        const string vm = "vm-autoconverge";
        await using var run = await lab.StartAsync($"{{ {Busy}, autoConverge: true }}", [new GuestSpec(vm, MemoryMiB: 64, DirtyMiBps: 200)]);
        var throttled = 0;

        var result = await MigrationBackends.MigrateAsync(run.Request(vm) with { Timeout = Patience },
            new InlineProgress<MigrationProgress>(p => throttled = Math.Max(throttled, p.ThrottlePercent)), CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        MigrationAssert.Completed(result);
        Assert.Equal(ConvergenceAction.AutoConverge, result.Action);
        Assert.True(result.ThrottlePercent >= 20, $"throttled only {result.ThrottlePercent}%");
        Assert.Equal(throttled, result.ThrottlePercent); // the progress showed it as it rose
        await MigrationAssert.GuestIntactAsync(run.DestinationSerial(vm));
    }

    [QemuFact]
    public async Task Timeout_action_pause_stops_the_guest_at_the_source_and_finishes_with_its_longer_downtime()
    {
        const string vm = "vm-pause";
        // 40 s per GiB: a 5 s timeout for 128 MiB
        await using var run = await lab.StartAsync($"{{ {Busy}, timeoutAction: pause, completionTimeoutPerGiB: 40 }}", [new GuestSpec(vm, MemoryMiB: 128, DirtyMiBps: 200)]);

        var result = await MigrationBackends.MigrateAsync(run.Request(vm), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        MigrationAssert.Completed(result);
        Assert.Equal(ConvergenceAction.Pause, result.Action);
        Assert.True(result.DowntimeMs > 300, $"a paused guest is down while the rest is sent, not {result.DowntimeMs} ms");
        Assert.Contains(result.Warnings, w => w.Contains("was paused at the source after") && w.Contains("has not converged within 5 s"));
        await MigrationAssert.GuestIntactAsync(run.DestinationSerial(vm));
    }

    [QemuFact]
    public async Task Timeout_action_postcopy_runs_the_guest_at_the_destination_once_progress_stalls()
    {
        const string vm = "vm-postcopy";
        await using var run = await lab.StartAsync($"{{ {Busy}, postcopy: true, timeoutAction: postcopy, progressTimeout: 3 }}",
            [new GuestSpec(vm, MemoryMiB: 128, DirtyMiBps: 200)]);

        var result = await MigrationBackends.MigrateAsync(run.Request(vm) with { Timeout = Patience }, null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        MigrationAssert.Completed(result);
        Assert.Equal(ConvergenceAction.Postcopy, result.Action);
        Assert.Contains(result.Warnings, w => w.Contains("switched to post-copy") && w.Contains("could no longer resume it"));
        Assert.True(result.InventoryUpdated);
        await MigrationAssert.GuestIntactAsync(run.DestinationSerial(vm));
    }

    [QemuFact]
    public async Task Progress_timeout_with_the_default_action_cancels_before_the_timeout_and_the_guest_runs_on()
    {
        const string vm = "vm-stall";
        await using var run = await lab.StartAsync($"{{ {Busy}, progressTimeout: 3 }}", [new GuestSpec(vm, MemoryMiB: 128, DirtyMiBps: 200)]);

        var result = await MigrationBackends.MigrateAsync(run.Request(vm) with { Timeout = Patience }, null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.Equal(("Failed", "MigrationNotConverging"), (result.Status, result.ErrorId));
        Assert.Contains($"{vm} made no progress for 3 s (progressTimeout)", result.Error);
        Assert.True(result.TotalTimeMs < Patience.TotalMilliseconds / 2, $"it waited {result.TotalTimeMs} ms, as for the timeout");
        Assert.Equal(ConvergenceAction.None, result.Action);
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp(vm)));
    }
}

/// <summary>-Predict on running guests: QEMU samples each one's dirty rate, and the model says the quiet guest converges
/// over the capped link and the busy one does not (and what would finish it); a measured bandwidth is used when given.</summary>
[Collection(QemuLabCollection.Name)]
public sealed class ConvergenceForecastTests(QemuLab lab)
{
    [QemuFact]
    public async Task The_sampled_dirty_rate_predicts_the_quiet_guest_converges_and_the_busy_one_does_not()
    {
        await using var run = await lab.StartAsync("{ parallel: Disabled, transport: direct, encryption: none, bandwidthGbps: 0.3 }",
            [new GuestSpec("vm-quiet", MemoryMiB: 128, DirtyMiBps: 5), new GuestSpec("vm-loud", MemoryMiB: 128, DirtyMiBps: 200)]);
        var inventory = Core.Inventory.InventoryLoader.Load(run.InventoryPath);
        async Task<Core.Planning.ConvergencePrediction> PredictAsync(string vm, double? measured = null) =>
            (await Operations.ConvergenceForecast.PredictAsync(inventory, run.Request(vm).Plan, run.LeftRunDirectory, measured, Core.Diagnostics.SilentLog.Instance,
                CancellationToken.None)).Prediction!;

        var quiet = await PredictAsync("vm-quiet");
        var loud = await PredictAsync("vm-loud");
        var loudOverAFastLink = await PredictAsync("vm-loud", measured: 20);

        Assert.InRange(quiet.DirtyRateMBps, 0.5, 40);
        Assert.True(quiet.Converges, quiet.Reason);
        Assert.Equal(Core.Planning.ConvergenceAction.None, quiet.ActionNeeded);
        Assert.True(loud.DirtyRateMBps > 60, $"the busy guest dirties 200 MiB/s, sampled as {loud.DirtyRateMBps} MB/s");
        Assert.False(loud.Converges, loud.Reason);
        Assert.Contains("set autoConverge: true", loud.Reason);
        Assert.Equal(20, loudOverAFastLink.BandwidthGbps);
        Assert.True(loudOverAFastLink.Converges, loudOverAFastLink.Reason);
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp("vm-loud"))); // sampling changed nothing
    }

    [QemuFact]
    public async Task Psmig_migrate_what_if_ends_with_the_sampled_prediction_and_says_why_a_VM_that_does_not_run_has_none()
    {
        await using var run = await lab.StartAsync("{ parallel: Disabled, transport: direct, encryption: none, bandwidthGbps: 0.3 }",
            [new GuestSpec("vm-whatif", MemoryMiB: 128, DirtyMiBps: 200), new GuestSpec("vm-whatif-off")], startVms: false);
        await run.StartSourceAsync("vm-whatif");
        (int Code, string Stdout, string Stderr) Psmig(params string[] args)
        {
            var (stdout, stderr) = (new StringWriter(), new StringWriter());
            var code = Cli.CliApp.Run(["migrate", "-i", run.InventoryPath, "-d", QemuLab.DestinationHost, "--what-if", "--run-dir", run.LeftRunDirectory,
                "--pki", lab.PkiDirectory, "--timeout", "30", .. args], stdout, stderr);
            return (code, stdout.ToString(), stderr.ToString());
        }

        var json = Psmig("--vm", "vm-whatif", "--vm", "vm-whatif-off", "--json");

        Assert.True(json.Code == 0, json.Stderr);
        var entries = System.Text.Json.JsonDocument.Parse(json.Stdout).RootElement.EnumerateArray().ToList();
        var prediction = entries[0].GetProperty("plan").GetProperty("prediction");
        Assert.True(prediction.GetProperty("dirtyRateMBps").GetDouble() > 60, prediction.ToString());
        Assert.False(prediction.GetProperty("converges").GetBoolean());
        var step = entries[0].GetProperty("steps").EnumerateArray().Last().GetString()!;
        Assert.StartsWith("convergence: The guest dirties ", step);
        Assert.Contains("It would be cancelled at its timeout (30 s)", step); // the run's --timeout, not the policy's
        Assert.False(entries[1].GetProperty("plan").TryGetProperty("prediction", out _));
        Assert.Equal($"convergence: not predicted: There is no QMP socket at {run.SourceQmp("vm-whatif-off")} (is the VM running?).",
            entries[1].GetProperty("steps").EnumerateArray().Last().GetString());

        var text = Psmig("--vm", "vm-whatif");

        Assert.True(text.Code == 0, text.Stderr);
        Assert.Matches(@"\n +\d+\. convergence: The guest dirties \d+ MB/s against 0\.3 Gbps", text.Stdout);
        Assert.DoesNotContain("  prediction ", text.Stdout); // once, as the last step
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp("vm-whatif")));
    }
}

/// <summary>The progress line's time left: the remaining bytes over what the link gains on the guest.</summary>
public sealed class TimeLeftTests
{
    [Fact]
    public void It_is_the_remaining_bytes_over_the_gain_and_none_when_the_gain_is_nothing()
    {
        MigrationProgress At(double throughput, double dirty) =>
            new("vm", "active", 50, 100_000_000, 200_000_000, throughput, dirty, 300, 3, TimeSpan.FromSeconds(10));

        Assert.Equal(TimeSpan.FromSeconds(4), At(60, 10).TimeLeft);
        Assert.Null(At(10, 60).TimeLeft); // out-dirtied
        Assert.Null(At(50.000000001, 50).TimeLeft); // a gain of almost nothing: no overflow
        Assert.Contains("not converging at these rates", At(50.000000001, 50).Describe());
        Assert.Contains("~4 s left", At(60, 10).Describe());
    }
}
