using PSMigration.Core;
using PSMigration.Qemu.Incoming;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Tests;

/// <summary>Migrations that do not finish: cancelled, refused by the agent, not converging, or of a
/// VM that is not running. Each is a result (not an exception), and the VM runs on at the source.</summary>
[Collection(QemuLabCollection.Name)]
public sealed class MigrationFailureTests(QemuLab lab)
{
    [QemuFact]
    public async Task Cancelled_while_active_leaves_the_source_running_and_no_twin()
    {
        const string vm = "vm-cancel";
        // 256 MiB at 0.1 Gbps (12.5 MB/s): about 20 s of copying, time enough to cancel mid-way
        await using var run = await lab.StartAsync("{ parallel: Custom, connections: 2, transport: engine, encryption: tls, bandwidthGbps: 0.1 }",
            [new GuestSpec(vm, MemoryMiB: 256)]);
        using var cancel = new CancellationTokenSource();
        var active = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new InlineProgress<MigrationProgress>(p =>
        {
            if (p.Phase == "active") active.TrySetResult();
        });

        var migration = MigrationBackends.MigrateAsync(run.Request(vm), progress, cancel.Token);
        await Task.WhenAny(active.Task, migration).WaitAsync(MigrationAssert.Hang);
        Assert.False(migration.IsCompleted, $"test setup: the migration ended before it was cancelled: {(migration.IsCompleted ? migration.Result.Error : "")}");
        var serialLines = run.SourceSerial(vm).Lines().Count;
        cancel.Cancel();
        var result = await migration.WaitAsync(TimeSpan.FromSeconds(60)); // returns, not hangs

        Assert.Equal(MigrationStatusNames.Cancelled, result.Status);
        Assert.Equal("MigrationCancelled", result.ErrorId);
        Assert.Contains("keeps running on left", result.Error);
        Assert.False(result.InventoryUpdated);
        Assert.Contains("host: left", File.ReadAllText(run.InventoryPath));
        Assert.True(QemuInstance.IsAlive(run.SourcePid(vm)), "the source QEMU must survive a cancel");
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp(vm)));
        await MigrationAssert.GuestKeepsRunningAsync(run.SourceSerial(vm), serialLines);
        await NoTwinAsync(run, vm);
    }

    [QemuFact]
    public async Task Agent_that_cannot_start_the_twin_fails_the_migration_with_its_reason()
    {
        const string vm = "vm-refused";
        var refusing = lab.StartAgent(new QemuTwinHost(lab.TwinOptions(Path.Combine(lab.Root, "right-without-qemu"), binaries: [])));
        await using var _ = refusing;
        await using var run = await lab.StartAsync("{ transport: engine, encryption: tls }", [new GuestSpec(vm)], agentPort: refusing.Endpoints[0].Port);

        var result = await MigrationBackends.MigrateAsync(run.Request(vm), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.Equal(MigrationStatusNames.Failed, result.Status);
        Assert.Equal("DestinationNotReady", result.ErrorId);
        Assert.Contains($"cannot start {vm}", result.Error);
        Assert.Contains("runs only no QEMU (none installed or configured)", result.Error); // the agent's own reason
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp(vm)));
        Assert.Contains("host: left", File.ReadAllText(run.InventoryPath));
    }

    [QemuFact]
    public async Task Guest_dirtying_faster_than_the_capped_link_times_out_as_not_converging()
    {
        const string vm = "vm-busy-guest";
        // dirties 200 MiB/s; the link is capped at 0.1 Gbps (12.5 MB/s)
        await using var run = await lab.StartAsync("{ parallel: Disabled, transport: direct, encryption: none, bandwidthGbps: 0.1 }",
            [new GuestSpec(vm, MemoryMiB: 128, DirtyMiBps: 200)]);
        var result = await MigrationBackends.MigrateAsync(run.Request(vm) with { Timeout = TimeSpan.FromSeconds(10) }, null, CancellationToken.None)
            .WaitAsync(MigrationAssert.Hang);
        var serialLines = run.SourceSerial(vm).Lines().Count;

        Assert.Equal(MigrationStatusNames.Failed, result.Status);
        Assert.Equal("MigrationNotConverging", result.ErrorId);
        Assert.Contains($"{vm} did not converge within 10 s", result.Error);
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp(vm)));
        await MigrationAssert.GuestKeepsRunningAsync(run.SourceSerial(vm), serialLines);
        await NoTwinAsync(run, vm);
    }

    [QemuFact]
    public async Task Vm_that_is_not_running_fails_naming_its_missing_QMP_socket()
    {
        const string vm = "vm-not-started";
        await using var run = await lab.StartAsync("{ transport: engine, encryption: tls }", [new GuestSpec(vm)], startVms: false);

        var result = await MigrationBackends.MigrateAsync(run.Request(vm), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.Equal(MigrationStatusNames.Failed, result.Status);
        Assert.Equal("QmpUnavailable", result.ErrorId);
        Assert.Contains($"There is no QMP socket at {run.SourceQmp(vm)}", result.Error);
        Assert.False(result.InventoryUpdated);
        Assert.Empty(QemuProcesses.Matching(run.TwinFiles(vm)));
    }

    /// <summary>The agent stops the twin once the source lets go of it: eventually no process and no pid file.</summary>
    private static async Task NoTwinAsync(LabRun run, string vm)
    {
        var twin = run.TwinFiles(vm);
        await Eventually.TrueAsync(() => QemuProcesses.Matching(twin).Count == 0, $"the twin of {vm} is stopped");
        await Eventually.TrueAsync(() => !File.Exists(twin + "pid") && !File.Exists(twin + "incoming.pid") && !File.Exists(twin + "qmp"),
            $"the twin of {vm} leaves no pid file or socket");
    }
}
