using System.Management.Automation;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Tests;

namespace PSMigration.Hosted.Tests;

/// <summary>
/// Start-VMMigration in PowerShell, with real QEMU guests from "left" to the agent of "right": the
/// Write-Progress records from start to 100% to Completed, -Verbose and -Debug, Ctrl+C in the middle
/// (PowerShell.Stop, as the console does it), and -AsJob with Wait-Job, Receive-Job and Stop-Job.
/// </summary>
[Collection(QemuLabCollection.Name)]
public sealed class StartVMMigrationTests(QemuLab lab)
{
    /// <summary>A guest that takes about 20 s to copy: 128 MiB capped at 50 Mbit/s. Time enough to stop it midway.</summary>
    private const string Slow = "{ parallel: Disabled, transport: direct, encryption: none, bandwidthGbps: 0.05 }";

    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    private Dictionary<string, object?> Variables(LabRun run, string vm) => new()
    {
        ["vm"] = vm, ["inventory"] = run.InventoryPath, ["pki"] = lab.PkiDirectory, ["runDir"] = run.LeftRunDirectory,
    };

    private const string Migrate = "Start-VMMigration $vm -Destination right -InventoryPath $inventory -PkiPath $pki -RunDirectory $runDir -Confirm:$false";

    [QemuFact]
    public async Task A_migration_shows_its_progress_to_the_end_tells_its_story_and_its_result()
    {
        await using var run = await lab.StartAsync("{ parallel: Custom, connections: 2, transport: engine, encryption: tls }", [new GuestSpec("ps-progress")]);
        using var session = new ModuleSession();

        var output = session.Run(Migrate + " -Verbose -Debug", out var shell, Variables(run, "ps-progress"));

        Assert.True(output.Count == 1, $"{output.Count} objects; errors: {string.Join(" | ", shell.Streams.Error.Select(e => e.ToString()))}; " +
                                       $"last verbose: {string.Join(" | ", shell.Streams.Verbose.TakeLast(5).Select(v => v.Message))}");
        var result = Assert.IsType<MigrationResult>(output[0].BaseObject);
        MigrationAssert.Completed(result);
        await MigrationAssert.GuestIntactAsync(run.DestinationSerial("ps-progress"));

        // Progress: one activity for the VM, from preparing the destination, never back, to 100% with the final numbers, then Completed.
        var progress = shell.Streams.Progress.Where(p => p.ActivityId == 1).ToList();
        Assert.True(progress.Count >= 3, $"only {progress.Count} progress records");
        Assert.Equal("Migrating ps-progress to right over loop", progress[0].Activity);
        Assert.StartsWith("preparing the destination", progress[0].StatusDescription);
        for (var i = 1; i < progress.Count; i++)
            Assert.True(progress[i].PercentComplete >= progress[i - 1].PercentComplete,
                $"progress fell from {progress[i - 1].PercentComplete}% ({progress[i - 1].StatusDescription}) to {progress[i].PercentComplete}% ({progress[i].StatusDescription})");
        var last = progress[^1];
        Assert.Equal(ProgressRecordType.Completed, last.RecordType);
        Assert.Equal(100, last.PercentComplete);
        Assert.StartsWith("completed: 100% of RAM", last.StatusDescription);
        Assert.DoesNotContain(" 0 MiB sent", last.StatusDescription);
        Assert.Contains(progress, p => p.StatusDescription.StartsWith("starting the VM on the destination: 100%", StringComparison.Ordinal));

        // -Verbose: the inventory, the plan and why, each QMP step, the agent session; -Debug: the protocols.
        var verbose = string.Join("\n", shell.Streams.Verbose.Select(v => v.Message));
        Assert.Contains($"Inventory {run.InventoryPath}: loaded", verbose);
        Assert.Contains("Plan ps-progress: left -> right over 'loop'", verbose);
        Assert.Contains("migrate-set-capabilities", verbose);
        Assert.Contains($"right's agent at 127.0.0.2:{lab.AgentPort}: TLS up", verbose);
        Assert.Contains("committed, the VM is running", verbose);
        Assert.Contains("inventory " + run.InventoryPath + ": host left -> right", verbose);
        var debug = string.Join("\n", shell.Streams.Debug.Select(d => d.Message));
        Assert.Contains("QMP " + run.SourceQmp("ps-progress") + " -> {\"execute\":\"query-migrate\"", debug);
        Assert.Contains("control -> {\"type\":\"prepareIncoming\"", debug);

        // What the user sees of the result: the default table, and CSV with readable cells.
        var seen = new Dictionary<string, object?> { ["result"] = result };
        var table = string.Concat(session.Run("$result | Out-String -Width 300", seen));
        foreach (var column in new[] { "VM", "Status", "From", "To", "Network", "Transport", "Connections", "Seconds", "DowntimeMs", "MB/s" })
            Assert.Contains(column, table);
        Assert.Contains("Completed", table);
        var csv = string.Join("\n", session.Run("$result | ConvertTo-Csv", seen));
        Assert.DoesNotContain("System.", csv);
        var row = Assert.Single(session.Run("$result | ConvertTo-Csv | ConvertFrom-Csv", seen));
        Assert.Matches(@"^\d+; \d+; \d+$", row.Properties["ChannelBytes"].Value.ToString()); // main channel + 2 multifd
    }

    [QemuFact]
    public async Task Ctrl_C_cancels_says_where_the_VM_stands_and_leaves_it_running_at_the_source()
    {
        await using var run = await lab.StartAsync(Slow, [new GuestSpec("ps-stop")]);
        var inventoryBefore = File.ReadAllText(run.InventoryPath);
        var serialBefore = run.SourceSerial("ps-stop").Lines().Count;
        using var session = new ModuleSession();
        using var shell = session.Start(Migrate, Variables(run, "ps-stop"));
        var started = shell.BeginInvoke();
        await Eventually.TrueAsync(() => shell.Streams.Progress.Any(p => p.PercentComplete >= 5), "5% of the copy", Bound);

        var stopping = Task.Run(shell.Stop);
        await stopping.WaitAsync(Bound);
        Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
        Assert.Throws<PipelineStoppedException>(() => shell.EndInvoke(started));

        // What the user sees: a line on the host saying where the VM is, and the record in $Error.
        var told = Assert.Single(session.Host.Lines, l => l.StartsWith("ERROR: Start-VMMigration: ps-stop: Cancelled:", StringComparison.Ordinal));
        Assert.Contains("keeps running on left", told);
        var error = Assert.IsType<ErrorRecord>(Assert.Single(session.Run("$Error[0]")).BaseObject);
        Assert.Equal("MigrationCancelled", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.OperationStopped, error.CategoryInfo.Category);
        var cancelled = Assert.IsType<MigrationResult>(error.TargetObject);
        Assert.Equal((MigrationStatusNames.Cancelled, "ps-stop", "left"), (cancelled.Status, cancelled.Vm, cancelled.SourceHost));

        // And where it stands: running at the source, nothing at the destination, the inventory as it was.
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp("ps-stop")));
        await MigrationAssert.GuestKeepsRunningAsync(run.SourceSerial("ps-stop"), serialBefore);
        await Eventually.TrueAsync(() => QemuProcesses.Matching(run.TwinFiles("ps-stop")).Count == 0, "the twin on right stopped", Bound);
        Assert.Equal(inventoryBefore, File.ReadAllText(run.InventoryPath));
    }

    [QemuFact]
    public async Task AsJob_runs_in_the_background_and_Receive_Job_gives_the_result()
    {
        await using var run = await lab.StartAsync("{ parallel: Custom, connections: 2, transport: direct, encryption: none }", [new GuestSpec("ps-job")]);
        using var session = new ModuleSession();

        var output = session.Run($"$job = {Migrate} -AsJob; $null = $job | Wait-Job -Timeout 240; $job.State; Receive-Job $job", Variables(run, "ps-job"));

        Assert.Equal("Completed", output[0].ToString());
        var result = Assert.IsType<MigrationResult>(Assert.Single(output.Skip(1)).BaseObject);
        MigrationAssert.Completed(result);
        await MigrationAssert.GuestIntactAsync(run.DestinationSerial("ps-job"));
    }

    [QemuFact]
    public async Task Stop_Job_returns_once_the_job_has_stopped_with_the_cancelled_result_and_the_VM_at_the_source()
    {
        await using var run = await lab.StartAsync(Slow, [new GuestSpec("ps-stopjob")]);
        var inventoryBefore = File.ReadAllText(run.InventoryPath);
        using var session = new ModuleSession();
        session.Run($"$job = {Migrate} -AsJob", Variables(run, "ps-stopjob"));
        await Eventually.TrueAsync(() => session.Run("$job.Progress | Where-Object PercentComplete -ge 5").Count > 0, "5% of the copy", Bound);

        var output = session.Run("Stop-Job $job; $job.State; Receive-Job $job -ErrorVariable problems -ErrorAction SilentlyContinue; $problems");

        Assert.Equal("Stopped", output[0].ToString());
        var result = Assert.IsType<MigrationResult>(output[1].BaseObject);
        Assert.Equal(MigrationStatusNames.Cancelled, result.Status);
        var error = Assert.IsType<ErrorRecord>(output[2].BaseObject);
        Assert.StartsWith("MigrationCancelled", error.FullyQualifiedErrorId);
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp("ps-stopjob")));
        Assert.Equal(inventoryBefore, File.ReadAllText(run.InventoryPath));
    }
}
