using PSMigration.Core;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Tests;

/// <summary><see cref="MigrationBatch"/>: several VMs of one source host, never more at once than the
/// plans' maxConcurrentOutgoing nor, into one host, their maxConcurrentIncoming; in the order given.</summary>
[Collection(QemuLabCollection.Name)]
public sealed class MigrationBatchTests(QemuLab lab)
{
    [QemuFact]
    public async Task Two_vms_of_one_source_with_one_outgoing_slot_run_one_after_the_other()
    {
        // parallel on: one outgoing migration per host. Capped at 0.5 Gbps so each lasts a few seconds.
        await using var run = await lab.StartAsync("{ parallel: Custom, connections: 2, transport: engine, encryption: none, bandwidthGbps: 0.5 }",
            [new GuestSpec("vm-batch-a"), new GuestSpec("vm-batch-b")]);
        var requests = new[] { run.Request("vm-batch-a"), run.Request("vm-batch-b") };
        Assert.All(requests, r => Assert.Equal(1, r.Plan.MaxConcurrentOutgoing));
        var reports = new List<(long Order, string Vm, string Phase)>();
        long order = 0;
        var finished = new List<string>();

        var results = await MigrationBatch.RunAsync(requests, MigrationBackends.MigrateAsync,
            (_, _) => new InlineProgress<MigrationProgress>(p => { lock (reports) reports.Add((++order, p.Vm, p.Phase)); }),
            result => { lock (finished) finished.Add(result.Vm); },
            CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.All(results, MigrationAssert.Completed);
        Assert.Equal(["vm-batch-a", "vm-batch-b"], results.Select(r => r.Vm)); // in the order asked
        var first = reports[0].Vm;
        var second = first == "vm-batch-a" ? "vm-batch-b" : "vm-batch-a";
        Assert.Equal([first, second], finished);
        var firstReports = reports.Where(r => r.Vm == first).ToList();
        var secondReports = reports.Where(r => r.Vm == second).ToList();
        Assert.Equal("completed", firstReports[^1].Phase);
        Assert.Equal("preparing the destination", secondReports[0].Phase);
        Assert.True(firstReports.Max(r => r.Order) < secondReports.Min(r => r.Order),
            $"{second} started before {first} finished:\n{string.Join("\n", reports.Select(r => $"{r.Order} {r.Vm} {r.Phase}"))}");
        foreach (var vm in new[] { first, second }) await MigrationAssert.GuestIntactAsync(run.DestinationSerial(vm));
    }

    [QemuFact]
    public async Task Cancelled_every_VM_has_its_result_and_the_one_waiting_for_its_turn_never_starts()
    {
        await using var run = await lab.StartAsync("{ parallel: Custom, connections: 2, transport: direct, encryption: none, bandwidthGbps: 0.05 }",
            [new GuestSpec("vm-batch-c"), new GuestSpec("vm-batch-d")]);
        using var cancel = new CancellationTokenSource();
        var copying = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var phases = new List<string>();

        var batch = MigrationBatch.RunAsync([run.Request("vm-batch-c"), run.Request("vm-batch-d")], MigrationBackends.MigrateAsync,
            (_, _) => new InlineProgress<MigrationProgress>(p => { lock (phases) phases.Add(p.Vm); if (p.Percent >= 5) copying.TrySetResult(); }),
            null, cancel.Token);
        await copying.Task.WaitAsync(MigrationAssert.Hang);
        cancel.Cancel();
        var results = await batch.WaitAsync(MigrationAssert.Hang);

        Assert.Equal(["vm-batch-c", "vm-batch-d"], results.Select(r => r.Vm));
        Assert.All(results, r => Assert.Equal((MigrationStatusNames.Cancelled, "MigrationCancelled"), (r.Status, r.ErrorId)));
        var started = phases.Distinct().Single(); // the other waited for the one outgoing slot, and never started
        Assert.Equal(0, results.Single(r => r.Vm != started).Bytes);
        foreach (var vm in new[] { "vm-batch-c", "vm-batch-d" }) Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp(vm)));
    }

    [Fact]
    public async Task Moves_start_in_order_within_each_destinations_incoming_limit_and_a_turned_down_one_never_starts()
    {
        var inventory = InventoryLoader.LoadSample();
        MigrationRequest Move(string vm, string destination) => MigrationRequest.For(inventory,
            MigrationPlanner.Plan(inventory, vm, destination) with { MaxConcurrentOutgoing = null, MaxConcurrentIncoming = 1 }, "/nonexistent");
        // web01 and db01 both to kvm02 (one at a time), build01 to kvm03 beside the first; db01 waits for web01.
        var requests = new[] { Move("web01", "kvm02"), Move("build01", "kvm03"), Move("db01", "kvm02"), Move("web01", "kvm03") };
        var into = new Dictionary<string, int>();
        var most = new Dictionary<string, int>();
        var overlap = 0;
        var started = new List<string>();
        var running = 0;

        var results = await MigrationBatch.RunAsync(requests, async (request, _, _) =>
            {
                var destination = request.Plan.DestinationHost;
                lock (into)
                {
                    into[destination] = into.GetValueOrDefault(destination) + 1;
                    most[destination] = Math.Max(most.GetValueOrDefault(destination), into[destination]);
                    overlap = Math.Max(overlap, ++running);
                }
                await Task.Delay(200);
                lock (into) { into[destination]--; running--; }
                return new MigrationRun(request, null).Failure(new InvalidOperationException("not a real migration"), cancelled: false);
            }, (request, _) => { lock (into) started.Add($"{request.Vm.Name}>{request.Plan.DestinationHost}"); return null; }, null, CancellationToken.None,
            admit: request => request.Plan.DestinationHost == "kvm03" && request.Vm.Name == "web01" ? new InvalidOperationException("no room") : null);

        Assert.Equal(["web01>kvm02", "build01>kvm03", "db01>kvm02"], started); // in order (each as it starts); the last one was turned down
        Assert.All(most.Values, n => Assert.Equal(1, n));
        Assert.Equal(2, overlap); // web01 and build01 ran side by side: different destinations, no outgoing limit
        Assert.EndsWith("no room", results[3].Error);
        Assert.Equal(["web01", "build01", "db01", "web01"], results.Select(r => r.Vm));
    }
}
