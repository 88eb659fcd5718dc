using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Libvirt;

/// <summary>
/// Live-migrates one libvirt domain by its plan, from the source host, through libvirt's C API: a
/// peer-to-peer migration (the source libvirtd drives the destination's), directly over the planned
/// network, or into a unix socket the engine relays over its own connections to the destination
/// agent, which hands them to the QEMU libvirt started there. libvirt runs the migration itself
/// (destination QEMU, switch-over, the source's end); this driver watches its job, aborts it on
/// cancel, timeout or a failing engine, and reports the same result as the QEMU driver.
/// </summary>
public sealed class LibvirtMigrationDriver
{
    private static readonly TimeSpan PrepareTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan AbortTimeout = TimeSpan.FromSeconds(30);
    /// <summary>How long the end of a migration may lag behind the source domain going away.</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(5);

    private readonly MigrationRun run;
    private readonly MigrationRequest request;
    private LibvirtConnection? connection;
    private LibvirtDomain? domain;
    private IncomingVmLease? lease;
    private EngineRelay? engine;
    private Task? migration;
    private string? socketPath;

    private LibvirtMigrationDriver(MigrationRequest request, IProgress<MigrationProgress>? progress)
    {
        run = new MigrationRun(request, progress);
        this.request = request;
    }

    private Core.Planning.MigrationPlan Plan => request.Plan;
    private string Vm => request.Vm.Name;
    private LibvirtSpec Spec => request.Vm.Libvirt!;

    public static async Task<MigrationResult> MigrateAsync(MigrationRequest request, IProgress<MigrationProgress>? progress, CancellationToken cancel)
    {
        var driver = new LibvirtMigrationDriver(request, progress);
        try
        {
            return await driver.RunAsync(cancel);
        }
        finally
        {
            await driver.ReleaseAsync();
        }
    }

    /// <summary>The libvirt call this request makes (what -WhatIf shows), for a domain that is persistent or not.</summary>
    public static LibvirtMigrationCall CallFor(MigrationRequest request, bool persistent, string? engineSocket) =>
        LibvirtMigrationCall.For(request.Plan, request.Vm.Libvirt!.Domain, request.Vm.Libvirt.LocalUri,
            request.DestinationLibvirtUri ?? throw new MigrationException("LibvirtUriMissing", FailureKind.InvalidInput,
                $"no libvirt URI for {request.Plan.DestinationHost}", request.Plan.DestinationHost),
            persistent, engineSocket);

    private async Task<MigrationResult> RunAsync(CancellationToken cancel)
    {
        try
        {
            var persistent = await Task.Run(ConnectSource, cancel);
            if (run.ViaEngine) await StartEngineAsync(cancel);
            else await run.CheckRouteAsync(cancel);
            var call = CallFor(request, persistent, socketPath);
            run.Log.Verbose($"{Vm}: {call.Describe()}");
            run.Report("migrating");
            migration = Task.Factory.StartNew(() => domain!.Migrate(call), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await MonitorAsync(call, cancel);
            return await FinishAsync();
        }
        catch (Exception e)
        {
            var cancelled = cancel.IsCancellationRequested;
            await RollBackAsync();
            return run.Failure(e, cancelled);
        }
    }

    /// <returns>Whether the domain is persistent (its definition moves with it).</returns>
    private bool ConnectSource()
    {
        if (request.Vm.Libvirt is null)
            throw new MigrationException("VMNotLibvirt", FailureKind.InvalidInput, $"{Vm} has no libvirt section; this driver migrates libvirt domains", Vm);
        connection = LibvirtConnection.Open(Spec.LocalUri);
        domain = connection.Domain(Spec.Domain);
        var state = domain.State;
        run.Log.Verbose($"{Vm}: libvirt {Spec.LocalUri}: domain {Spec.Domain} is {state}{(domain.IsPersistent ? ", persistent" : ", transient")}");
        if (state is not ("running" or "paused"))
            throw new MigrationException("VMNotMigratable", FailureKind.OperationFailed,
                $"domain {Spec.Domain} ({Vm}) is {state} on {Plan.SourceHost}; only a running or paused domain migrates", Vm);
        if (domain.JobStats() is { IsActive: true })
            throw new MigrationException("MigrationInProgress", FailureKind.OperationFailed, $"domain {Spec.Domain} ({Vm}) already runs a job on {Plan.SourceHost}", Vm);
        return domain.IsPersistent;
    }

    /// <summary>The agent relays to the socket libvirt's destination QEMU will listen on; our socket at the same path here takes the source QEMU's connections.</summary>
    private async Task StartEngineAsync(CancellationToken cancel)
    {
        run.Report("preparing the destination");
        socketPath = request.LibvirtSocketPath(run.Id);
        lease = await run.PrepareDestinationAsync(() => IncomingVmLease.PrepareRelayAsync(run.SessionOptions(1), Vm, socketPath, PrepareTimeout, cancel));
        engine = await run.StartEngineAsync(socketPath, lease, cancel);
    }

    /// <summary>Watches libvirt's job until the migration call returns; sets the downtime limit once the job runs.</summary>
    private async Task MonitorAsync(LibvirtMigrationCall call, CancellationToken cancel)
    {
        var downtimeSet = false;
        while (!migration!.IsCompleted)
        {
            if (await PollAsync() is { IsActive: true } job)
            {
                if (run.Log.DebugEnabled) run.Log.Debug($"{Vm}: libvirt virDomainGetJobStats: {job}");
                run.Report(job.ToProgress(Vm, run.Clock.Elapsed));
                if (!downtimeSet)
                {
                    await TrySetDowntimeAsync(call.MaxDowntimeMs);
                    downtimeSet = true;
                }
            }
            await run.NextPollAsync(migration, engine, lease, cancel);
        }
        await migration; // libvirt's error, if it failed
    }

    /// <summary>The running job's numbers, or none between jobs. At the very end the source's domain stops (or is
    /// undefined) a moment before the migration call returns: then the call's outcome counts, not this error.</summary>
    private async Task<LibvirtJobStats?> PollAsync()
    {
        try
        {
            return await Task.Run(() => domain!.JobStats());
        }
        catch (LibvirtException)
        {
            await Task.WhenAny(migration!, Task.Delay(SettleTimeout));
            if (migration!.IsCompleted) return null;
            throw;
        }
    }

    /// <summary>Sets the downtime limit on the running job; a migration that ended meanwhile no longer needs it.</summary>
    private async Task TrySetDowntimeAsync(long milliseconds)
    {
        try
        {
            run.Log.Verbose($"{Vm}: libvirt virDomainMigrateSetMaxDowntime({milliseconds} ms)");
            await Task.Run(() => domain!.SetMaxDowntime(milliseconds));
        }
        catch (LibvirtException e)
        {
            await Task.WhenAny(migration!, Task.Delay(SettleTimeout));
            if (!migration!.IsCompleted) run.Warnings.Add($"The downtime limit of {milliseconds} ms was not set: {e.Message}");
        }
    }

    /// <summary>libvirt completed: the domain runs at the destination (libvirt started it there and ended the
    /// source). Its completed-job numbers come from the destination, which keeps them after the source's domain is gone.</summary>
    private async Task<MigrationResult> FinishAsync()
    {
        run.Log.Verbose($"{Vm}: libvirt completed the migration; reading its numbers from {request.DestinationLibvirtUri}");
        var final = await Task.Run(DestinationStats);
        var channelBytes = engine is null ? [] : await engine.CountsAsync(run.Warnings);
        var updated = run.UpdateInventory();
        var bytes = final?.DataProcessed ?? run.LastProgress?.TransferredBytes ?? 0;
        run.ReportCompleted(bytes);
        return run.Result(MigrationStatusNames.Completed, bytes, final?.ElapsedMs ?? 0, final?.DowntimeMs)
            with { ChannelBytes = channelBytes.ToTextList(), InventoryUpdated = updated };
    }

    private LibvirtJobStats? DestinationStats()
    {
        try
        {
            using var destination = LibvirtConnection.Open(request.DestinationLibvirtUri!);
            using var arrived = destination.Domain(Spec.Domain);
            if (arrived.State != "running")
                run.Warnings.Add($"domain {Spec.Domain} is {arrived.State} on {Plan.DestinationHost} after the migration");
            return arrived.JobStats(completed: true);
        }
        catch (LibvirtException e)
        {
            run.Warnings.Add($"Could not read the migration's final numbers from {Plan.DestinationHost}: {e.Message}");
            return null;
        }
    }

    /// <summary>Aborts libvirt's job if it still runs (libvirt then resumes the source and removes the destination's
    /// domain), resets the engine, and checks that the domain runs on at the source.</summary>
    private async Task RollBackAsync()
    {
        engine?.Abort();
        if (migration is null || domain is null) return;
        try
        {
            run.Log.Verbose($"{Vm}: rolling back: virDomainAbortJob (libvirt resumes the source and removes the destination's domain)");
            if (!migration.IsCompleted) await Task.Run(domain.AbortJob);
        }
        catch (LibvirtException e) when (migration.IsCompleted || e.Code == LibvirtException.OperationInvalid)
        {
            // the job ended on its own meanwhile
        }
        catch (LibvirtException e)
        {
            run.Warnings.Add($"Could not abort the migration job of domain {Spec.Domain}: {e.Message}");
        }
        try
        {
            await migration.WaitAsync(AbortTimeout).ContinueWith(_ => { });
            var state = await Task.Run(() => domain.State);
            if (state != "running")
                run.Warnings.Add($"domain {Spec.Domain} is {state} on {Plan.SourceHost} after the failed migration");
        }
        catch (LibvirtException e)
        {
            run.Warnings.Add($"Could not confirm that domain {Spec.Domain} runs on {Plan.SourceHost} after the failure: {e.Message}");
        }
    }

    private async Task ReleaseAsync()
    {
        if (migration is { IsCompleted: false }) await migration.WaitAsync(AbortTimeout).ContinueWith(_ => { });
        if (engine is not null) await engine.DisposeAsync();
        if (lease is not null) await lease.DisposeAsync();
        if (migration is null || migration.IsCompleted)
        {
            domain?.Dispose();
            connection?.Dispose();
        }
    }
}
