using System.Text.Json;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Transfer;

namespace PSMigration.Qemu.Migration;

/// <summary>
/// A migration whose source is another host (<see cref="MigrationRequest.Remote"/>): that host's agent runs it, as psmig
/// would there, and this side sees its progress, story and result (<see cref="SourceAgentCall"/>). The caller's
/// certificate asks; the agent plans again from its own inventory and records the move there; this side records it in
/// its own inventory too (the same file in a lab, a copy on a real cluster). Cancelled, the agent cancels and the VM runs
/// on at its source; a failure to reach the agent is a Failed result that says so.
/// </summary>
internal static class RemoteMigration
{
    public static async Task<MigrationResult> MigrateAsync(MigrationRequest request, IProgress<MigrationProgress>? progress, CancellationToken cancel)
    {
        var remote = request.Remote ?? throw new InvalidOperationException($"{request.Vm.Name} is migrated on this host");
        var run = new MigrationRun(request, progress);
        var credentials = request.Credentials ?? throw new InvalidOperationException($"asking {request.Plan.SourceHost}'s agent needs {remote.CallerHost}'s credentials");
        run.Log.Verbose($"{run.Vm}: {request.Plan.SourceHost} is not this host: its agent migrates the VM, {remote}");
        var ask = new RemoteAsk(request.Plan.DestinationHost, request.NetworkAsked, request.Overrides,
            request.Timeout is { } timeout ? (int)Math.Ceiling(timeout.TotalSeconds) : null, request.UpdateInventory,
            request.PostcopyAfter is { } after ? (int)Math.Ceiling(after.TotalSeconds) : null);
        MigrationResult result;
        try
        {
            var answer = await SourceAgentCall.RunAsync(request.SourceAgentOptions(remote, credentials), run.Vm, MigrationJson.ToElement(ask),
                report => run.Report(MigrationJson.From<MigrationProgress>(report, "the progress")), cancel);
            result = MigrationJson.From<MigrationResult>(answer, "the result");
        }
        catch (OperationCanceledException e) when (cancel.IsCancellationRequested)
        {
            return run.Failure(e, cancelled: true); // cancelled before the agent was asked: nothing started
        }
        catch (Exception e) // a result, never an exception: the batch goes on with the other VMs
        {
            var failed = run.Failure(e, cancelled: false);
            return failed with { Error = $"{request.Plan.SourceHost}'s agent did not migrate {run.Vm}: {failed.Error}" };
        }
        if (!result.Succeeded) return result;
        run.Warnings.AddRange(result.Warnings);
        return result with { InventoryUpdated = MigrationFlow.UpdateInventory(run) || result.InventoryUpdated, Warnings = run.Warnings.ToList() };
    }
}
