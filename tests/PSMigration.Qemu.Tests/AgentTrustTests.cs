using System.Text.Json;
using PSMigration.Core.Inventory;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Tests;

/// <summary>
/// What a valid host certificate no longer buys, tried as an attacker would, with the cluster's own certificates against
/// the real agent: a source that adds a file chardev to its copy of the inventory, a drive at /etc/hostname in both
/// copies, and a third host asking for a VM another host holds. Each migration fails with the agent's reason, no twin
/// starts, no file is opened, and the source runs on. A migration the agent takes is recorded in its own inventory.
/// </summary>
[Collection(QemuLabCollection.Name)]
public sealed class AgentTrustTests(QemuLab lab)
{
    private const string Policy = "{ transport: engine, encryption: tls }";

    [QemuFact]
    public async Task A_source_adding_arguments_to_its_copy_of_the_inventory_is_refused_as_a_stale_copy()
    {
        const string vm = "trust-chardev";
        await using var run = await lab.StartAsync(Policy, [new GuestSpec(vm)]);
        var leak = Path.Combine(lab.Root, "trust-chardev.leak");
        File.WriteAllText(run.InventoryPath, QemuLab.AddArgs(File.ReadAllText(run.InventoryPath), vm, "-chardev", $"file,id=pw,path={leak}", "-serial", "chardev:pw"));

        var result = await MigrationBackends.MigrateAsync(run.Request(vm), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.Equal(MigrationStatusNames.Failed, result.Status);
        Assert.Equal("DestinationNotReady", result.ErrorId);
        Assert.Contains($"The inventories of left and right describe {vm} differently: argument", result.Error);
        Assert.Contains("is '-chardev' on left but absent on right", result.Error);
        await AssertRefusedAsync(run, vm, "describe trust-chardev differently");
        Assert.False(File.Exists(leak), "the source's chardev file must not be created on the destination");
    }

    [QemuFact]
    public async Task A_host_path_outside_the_agents_roots_is_refused_even_when_both_copies_agree()
    {
        const string vm = "trust-drive";
        await using var run = await lab.StartAsync(Policy, [new GuestSpec(vm)]);
        string[] drive = ["-drive", "file=/etc/hostname,format=raw,if=none,id=stolen", "-device", "virtio-blk-pci,drive=stolen"];
        File.WriteAllText(run.InventoryPath, QemuLab.AddArgs(File.ReadAllText(run.InventoryPath), vm, drive));
        lab.EditAgentInventory(text => QemuLab.AddArgs(text, vm, drive));

        var result = await MigrationBackends.MigrateAsync(run.Request(vm), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.Equal(MigrationStatusNames.Failed, result.Status);
        Assert.Contains($"the agent of right refuses the qemu args of {vm}", result.Error);
        Assert.Contains("'/etc/hostname' is outside the agent's roots", result.Error);
        await AssertRefusedAsync(run, vm, "refuses the qemu args of trust-drive");
    }

    [QemuFact]
    public async Task A_host_with_its_own_valid_certificate_cannot_ask_for_a_VM_another_host_holds()
    {
        const string vm = "trust-other";
        await using var run = await lab.StartAsync(Policy, [new GuestSpec(vm)]);

        var result = await MigrationBackends.MigrateAsync(run.Request(vm) with { Credentials = lab.OtherCredentials }, null, CancellationToken.None)
            .WaitAsync(MigrationAssert.Hang);

        Assert.Equal(MigrationStatusNames.Failed, result.Status);
        Assert.Contains($"the inventory of right places {vm} on left, not other: a host may move only the VMs it holds", result.Error);
        await AssertRefusedAsync(run, vm, $"incoming {vm} from other: refused");
    }

    [QemuFact]
    public async Task A_VM_the_agent_took_is_recorded_on_its_host_in_the_agents_own_inventory()
    {
        const string vm = "trust-arrived";
        await using var run = await lab.StartAsync(Policy, [new GuestSpec(vm)]);

        var result = await MigrationBackends.MigrateAsync(run.Request(vm), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.True(result.Succeeded, result.Error);
        // The agent answers the commit first and records the arrival after it (the records do not lengthen the downtime).
        await Eventually.TrueAsync(() => lab.AgentLog.Any(l => l.Contains($"incoming {vm} from left: committed, running; {lab.AgentInventoryPath} now places {vm} on right",
            StringComparison.Ordinal)), "the agent logs the arrival it recorded");
        Assert.Equal("right", InventoryLoader.Load(lab.AgentInventoryPath).Vm(vm).Host);
        Assert.Equal("right", InventoryLoader.Load(run.InventoryPath).Vm(vm).Host); // and the source's copy, as before
    }

    [QemuFact]
    public async Task A_source_that_keeps_the_inventories_as_they_are_keeps_the_agents_too()
    {
        const string vm = "trust-unrecorded";
        await using var run = await lab.StartAsync(Policy, [new GuestSpec(vm)]);

        var result = await MigrationBackends.MigrateAsync(run.Request(vm) with { UpdateInventory = false }, null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.True(result.Succeeded, result.Error);
        await Eventually.TrueAsync(() => lab.AgentLog.Any(l => l.Contains($"incoming {vm} from left: committed, running; not recorded (the source keeps the inventories as they are)",
            StringComparison.Ordinal)), "the agent logs that it did not record the arrival");
        Assert.Equal("left", InventoryLoader.Load(lab.AgentInventoryPath).Vm(vm).Host); // once it is done with the commit
    }

    /// <summary>The agent logged the refusal, no twin runs or left files, and the source runs on.</summary>
    private async Task AssertRefusedAsync(LabRun run, string vm, string logged)
    {
        Assert.Contains(lab.AgentLog, l => l.Contains(logged, StringComparison.Ordinal) && l.Contains("refused", StringComparison.Ordinal));
        Assert.Empty(QemuProcesses.Matching(run.TwinFiles(vm)));
        Assert.Empty(Directory.GetFileSystemEntries(lab.RightRunDirectory, vm + ".*"));
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp(vm)));
        Assert.Equal("left", InventoryLoader.Load(lab.AgentInventoryPath).Vm(vm).Host);
    }
}
