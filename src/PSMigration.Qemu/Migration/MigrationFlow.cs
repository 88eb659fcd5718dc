using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Transfer;

namespace PSMigration.Qemu.Migration;

/// <summary>
/// The one way a migration goes, whatever the backend: connect to the source, get the destination ready, configure
/// the source, open the transport (the engine's relay, or the direct route, checked), start, watch until it
/// completes (within the timeout, while the engine and the agent hold), finish, and record the move. Whatever fails
/// or is cancelled before the finish is rolled back, the source running on, and becomes a Failed or Cancelled
/// result with the error's id; past a switch to post-copy nothing is rolled back (the VM runs at the destination, which
/// the inventory records at once), and a broken stream is recovered (<see cref="PostcopyRecovery"/>). -WhatIf describes the same phases in the same order.
/// </summary>
internal static class MigrationFlow
{
    private static readonly Task Never = Task.Delay(Timeout.Infinite);

    /// <summary>How often the flow asks the backend how the migration goes.</summary>
    public static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(250);

    public static async Task<MigrationResult> MigrateAsync(MigrationRequest request, IMigrationBackend backend, MigrationRun run, CancellationToken cancel)
    {
        IncomingVmLease? lease = null;
        EngineRelay? engine = null;
        PostcopyRecovery? recovery = null; // set at the switch to post-copy
        bool? inventoryUpdated = null;
        try
        {
            await backend.ConnectSourceAsync(cancel);
            run.Report("preparing the destination");
            lease = await PrepareDestinationAsync(backend, run, cancel);
            await backend.ConfigureSourceAsync(cancel);
            if (request.Plan.ViaEngine) engine = await StartEngineAsync(backend, run, lease, cancel);
            else await CheckRouteAsync(run, cancel);
            if (backend.DisksToCopy > 0)
            {
                run.Report(MigrationProgress.CopyingDisks);
                await backend.StartDiskCopyAsync(lease, cancel);
                while (!await ExplainedAsync(backend.PollDisksAsync(cancel), run, engine, lease))
                    await WaitForNextPollAsync(Never, engine, lease, cancel, run);
            }
            run.Report("migrating memory");
            var watch = new ConvergenceWatch(run, run.Clock.Elapsed); // the convergence timeout is the memory's: a disk copy takes what it takes
            await backend.StartAsync(lease, cancel);
            // After a switch to post-copy the VM runs at the destination: nothing is cancelled any more, the agent has let go
            // of the lease (its end is no failure), and a broken stream is recovered rather than failed.
            while (!await ExplainedAsync(backend.PollAsync(recovery is null ? cancel : CancellationToken.None), run, recovery is null ? engine : null, recovery is null ? lease : null))
            {
                if (recovery is not null)
                {
                    var carrying = recovery.Engine ?? engine;
                    if (backend.PostcopyBrokenSince is not null || carrying?.Fault is not null) await recovery.RecoverAsync(carrying, backend.PostcopyBrokenSince);
                    await Task.WhenAny(Task.Delay(PollEvery), backend.Ended, (recovery.Engine ?? engine)?.Failed ?? Never);
                    continue;
                }
                switch (watch.Next())
                {
                    case ConvergenceStep.Pause:
                        await backend.PauseSourceAsync(cancel);
                        break;
                    case ConvergenceStep.Postcopy:
                        await backend.SwitchToPostcopyAsync(lease, cancel); // a switch that fails half-way throws PostcopyUncertain
                        recovery = new PostcopyRecovery(run, backend); // from here a failure must not resume the source
                        inventoryUpdated = UpdateInventory(run); // the VM runs there from now on, whatever happens to the stream
                        continue;
                }
                await WaitForNextPollAsync(backend.Ended, engine, lease, cancel, run);
            }

            run.Report("starting the VM on the destination");
            var totals = await backend.FinishAsync(lease); // past this point a cancel no longer undoes anything
            IReadOnlyList<long> channelBytes = engine is null ? []
                : recovery is { Engine: not null } ? [engine.SentSoFar + recovery.RelayedBytes] // post-copy has one stream, carried by each relay in turn
                : await engine.CountsAsync(run.Warnings);
            var updated = inventoryUpdated ?? UpdateInventory(run);
            run.ReportCompleted(totals.Bytes);
            return run.Result(MigrationStatusNames.Completed, totals) with
            {
                ChannelBytes = channelBytes.ToTextList(),
                Networks = (engine?.Networks ?? []).ToTextList(),
                InventoryUpdated = updated,
            };
        }
        catch (Exception e)
        {
            // Once the source switched to post-copy, or its commit is unconfirmed, it must not run again: the VM may run elsewhere.
            var uncertain = recovery is not null || e is MigrationException { ErrorId: "CommitUncertain" or "PostcopyUncertain" };
            engine?.Abort();
            await backend.RollBackAsync(resumeSource: !uncertain);
            return run.Failure(e, cancelled: cancel.IsCancellationRequested && !uncertain) with { InventoryUpdated = inventoryUpdated ?? false };
        }
        finally
        {
            if (recovery is not null) await recovery.DisposeAsync();
            if (engine is not null) await engine.DisposeAsync();
            if (lease is not null) await lease.DisposeAsync();
        }
    }

    /// <summary>The steps <see cref="MigrateAsync"/> takes with <paramref name="backend"/>, phase by phase, for -WhatIf.</summary>
    public static IReadOnlyList<string> Describe(MigrationRequest request, IMigrationBackend backend)
    {
        var plan = request.Plan;
        var steps = new List<string>();
        foreach (var phase in Enum.GetValues<MigrationPhase>())
        {
            if (phase == MigrationPhase.CopyDisks && plan.ViaEngine)
                steps.Add($"engine: {backend.EngineDiskStreams + EngineRelay.Streams(plan)} connection(s) from {plan.SourceAddress} to {plan.DestinationAddress}:{plan.DestinationPort} over '{plan.Network}'" +
                          $"{(plan.Tls ? " with TLS" : " (plain, session token)")}, relaying " +
                          (backend.EngineDiskStreams > 0 ? $"one NBD stream per disk ({backend.EngineDiskStreams}) first, then " : "") + "QEMU's main channel, then each multifd channel");
            steps.AddRange(backend.Describe(phase));
        }
        if (request.UpdateInventory && plan.InventoryPath is not null)
            steps.Add($"inventory {plan.InventoryPath}: {request.Vm.Name} host: {plan.SourceHost} -> {plan.DestinationHost}");
        return steps;
    }

    /// <summary>Asks the agent for its side; an agent that says no or cannot be reached is DestinationNotReady.</summary>
    private static async Task<IncomingVmLease?> PrepareDestinationAsync(IMigrationBackend backend, MigrationRun run, CancellationToken cancel)
    {
        try
        {
            return await backend.PrepareDestinationAsync(run.SessionOptions(channels: 1), cancel);
        }
        catch (ChannelException e)
        {
            throw new MigrationException("DestinationNotReady", FailureKind.OperationFailed, e.Message, run.Plan.DestinationHost, e);
        }
    }

    /// <summary>The engine transport: the source QEMU migrates into the backend's socket, relayed to the lease's target.</summary>
    private static async Task<EngineRelay> StartEngineAsync(IMigrationBackend backend, MigrationRun run, IncomingVmLease? lease, CancellationToken cancel)
    {
        var disks = backend.EngineDiskStreams > 0 ? new EngineRelay.DiskStreams(backend.EngineDiskSocketPath, backend.EngineDiskStreams, lease!.Ready.DiskRelayTarget!) : null;
        var streams = EngineRelay.Streams(run.Plan) + (disks?.Count ?? 0);
        var engine = await EngineRelay.StartAsync(backend.EngineSocketPath, backend.SourceAccount, run.SessionOptions(streams), lease?.Ready.RelayTarget, disks, cancel);
        run.SourceInterface = run.Plan.SourceInterface; // the engine binds the planned address
        return engine;
    }

    /// <summary>The direct transport binds nothing, so the kernel's route decides the NIC: record it, and warn when it is not the planned one.</summary>
    private static async Task CheckRouteAsync(MigrationRun run, CancellationToken cancel)
    {
        var plan = run.Plan;
        var route = await RouteLookup.InterfaceAsync(plan.DestinationAddress.ToString(), cancel);
        run.SourceInterface = route;
        run.Log.Verbose($"{run.Vm}: the kernel routes {plan.DestinationAddress} via {route ?? "(unknown)"}; planned: {plan.SourceInterface} on '{plan.Network}'");
        if (route is null)
            run.Warnings.Add($"Could not look up the route to {plan.DestinationAddress} ('ip route get'); the interface used is unknown.");
        else if (route != plan.SourceInterface)
            run.Warnings.Add($"The kernel routes {plan.DestinationAddress} via {route}, not the planned {plan.SourceInterface}: " +
                             "the direct transport follows the route. Fix the routing, or use transport 'engine', which binds the planned address.");
    }

    /// <summary>Waits for the next poll (or the end the backend signals), failing on what ends a migration meanwhile:
    /// cancellation, the engine's failure, or the agent going away (the timeouts are <see cref="ConvergenceWatch"/>'s).</summary>
    private static async Task WaitForNextPollAsync(Task ended, EngineRelay? engine, IncomingVmLease? lease, CancellationToken cancel, MigrationRun run)
    {
        await Task.WhenAny(Task.Delay(PollEvery, cancel), ended, engine?.Failed ?? Never, lease?.Lost ?? Never);
        cancel.ThrowIfCancellationRequested();
        ThrowTransportFailure(run, engine, lease);
    }

    /// <summary>How long a hypervisor's failure waits for the transport's: a copy that broke because the link or the agent
    /// went is told as that, naming the peer, rather than as the hypervisor's "Input/output error".</summary>
    private static readonly TimeSpan CauseGrace = TimeSpan.FromSeconds(3);

    /// <summary>The poll's answer; when it failed while the engine or the agent went away, that is the failure told.</summary>
    private static async Task<bool> ExplainedAsync(Task<bool> poll, MigrationRun run, EngineRelay? engine, IncomingVmLease? lease)
    {
        try
        {
            return await poll;
        }
        catch (MigrationException) when (engine is not null || lease is not null)
        {
            await Task.WhenAny(Task.Delay(CauseGrace), engine?.Failed ?? Never, lease?.Lost ?? Never);
            ThrowTransportFailure(run, engine, lease);
            throw;
        }
    }

    /// <summary>The engine's failure, or the agent's going away, as the migration's error; nothing when both hold.</summary>
    private static void ThrowTransportFailure(MigrationRun run, EngineRelay? engine, IncomingVmLease? lease)
    {
        if (engine?.Fault is { } fault)
            throw new MigrationException("EngineFailed", FailureKind.OperationFailed,
                $"The engine connection to {run.Plan.DestinationHost} failed: {fault.Message}", run.Plan.DestinationHost);
        if (lease?.Lost is { IsCompleted: true } lost)
            throw new MigrationException("DestinationLost", FailureKind.OperationFailed,
                $"Lost the agent of {run.Plan.DestinationHost}: {lost.Result.Message}", run.Plan.DestinationHost);
    }

    /// <summary>Records the VM's new host; a failure is a warning, as the VM already runs there.</summary>
    internal static bool UpdateInventory(MigrationRun run)
    {
        var plan = run.Plan;
        if (!run.Request.UpdateInventory || plan.InventoryPath is null) return false;
        try
        {
            VmHostEditor.Move(plan.InventoryPath, run.Vm, plan.SourceHost, plan.DestinationHost);
            run.Log.Verbose($"{run.Vm}: inventory {plan.InventoryPath}: host {plan.SourceHost} -> {plan.DestinationHost}");
            return true;
        }
        catch (Exception e) when (e is MigrationException or IOException or UnauthorizedAccessException)
        {
            run.Warnings.Add($"{run.Vm} runs on {plan.DestinationHost}, but the inventory was not updated: {e.Message}");
            return false;
        }
    }
}
