using System.Text.Json;
using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Agent;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Operations;

/// <summary>
/// The agent's <see cref="IOutgoingMigrations"/>: a caller on another host of the inventory (its host certificate asks)
/// has this host migrate one of its VMs. The migration is psmig's own, run here: planned again from this agent's
/// inventory (which must place the VM on this host), with this host's certificate and run directory, recorded in this
/// inventory. The caller sees the progress, the story and the result.
/// </summary>
internal sealed class AgentMigrations(string hostName, string inventoryPath, string pkiDirectory, string runDirectory) : IOutgoingMigrations
{
    public async Task<JsonElement> MigrateAsync(string vm, JsonElement request, string caller, Action<JsonElement> progress, IActivityLog story, CancellationToken cancel)
    {
        RemoteAsk ask;
        try
        {
            ask = MigrationJson.From<RemoteAsk>(request, "the request");
        }
        catch (JsonException e)
        {
            throw new MigrationException("InvalidRequest", FailureKind.InvalidInput, $"a malformed migration request from {caller}: {e.Message}", vm, e);
        }
        var inventory = InventoryLoader.Load(inventoryPath);
        var names = MigrationInventory.NameComparer;
        if (!inventory.Hosts.Any(h => names.Equals(h.Name, caller)))
            throw new MigrationException("CallerNotInInventory", FailureKind.OperationFailed, $"{caller} is not a host of {inventoryPath}: it may not have {hostName} migrate VMs", caller);
        var found = inventory.Vm(vm); // an unknown name fails here, with a did-you-mean
        if (!names.Equals(found.Host, hostName))
            throw new MigrationException("VMNotOnThisHost", FailureKind.InvalidInput,
                $"{found.Name} is not on {hostName}: {inventoryPath} places it on {found.Host}; ask that host's agent, or bring the inventories in step", found.Name);
        var options = new MigrationOptions
        {
            Destination = ask.Destination,
            Network = ask.Network,
            Overrides = ask.Overrides,
            PkiDirectory = pkiDirectory,
            RunDirectory = runDirectory,
            Timeout = ask.TimeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            UpdateInventory = ask.UpdateInventory,
            PostcopyAfter = ask.PostcopyAfterSeconds is { } after ? TimeSpan.FromSeconds(after) : null,
            Log = story,
        };
        story.Verbose($"{found.Name}: {hostName}'s agent migrates it to {ask.Destination}, asked by {caller}");
        using var launch = new MigrationLaunch([options.RequestFor(inventory, found.Name)]);
        var results = await launch.RunAsync((_, _) => new InlineProgress<MigrationProgress>(p => progress(MigrationJson.ToElement(p))), null, cancel);
        return MigrationJson.ToElement(results[0]);
    }
}
