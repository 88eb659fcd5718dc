using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Accounts;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Storage;

namespace PSMigration.Qemu.Libvirt;

/// <summary>
/// A libvirt domain's migration through libvirt's C API: a peer-to-peer migration (the source libvirtd drives the
/// destination's), directly over the planned network, or into a unix socket the engine relays to the destination
/// agent, which hands the connections to the QEMU libvirt started there. libvirt runs the migration itself
/// (destination QEMU, switch-over, the source's end); this backend watches its job, aborts it when rolled back, and
/// reads the final numbers from the destination.
/// </summary>
internal sealed class LibvirtMigrationBackend(MigrationRequest request, MigrationRun run) : IMigrationBackend
{
    private static readonly TimeSpan AbortTimeout = TimeSpan.FromSeconds(30);
    /// <summary>How long one of libvirt's quick calls (job statistics, abort) may take: a libvirtd that hangs must not hang
    /// the migration's timeout and its cancel with it.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(20);
    /// <summary>How long the end of a migration may lag behind the source domain going away.</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(5);
    private static readonly Task Never = Task.Delay(Timeout.Infinite);

    private LibvirtConnection? connection;
    private LibvirtDomain? domain;
    /// <summary>A second connection for everything said while the migration call runs (its statistics, the downtime limit,
    /// pause, post-copy, abort), as virsh domjobinfo would: the call holds its own for its whole length.</summary>
    private LibvirtConnection? monitorConnection;
    private LibvirtDomain? monitor;
    private bool persistent = true;
    private Task? migration;
    private bool downtimeSet;
    /// <summary>When the domain was paused to finish (timeoutAction: pause): its downtime runs from then.</summary>
    private DateTimeOffset? pausedAt;
    /// <summary>The domain's disks (copy-storage only): libvirt copies the writable local ones inside its migration call.</summary>
    private IReadOnlyList<VmDisk> disks = [];
    /// <summary>The disk bytes the source's job reported last: the destination's completed numbers leave them out.</summary>
    private long diskBytesSeen;
    /// <summary>virDomainMigrateStartPostCopy was called: from then on the domain is split between the hosts, and a failure of
    /// the migration call is a broken stream to resume, not an end.</summary>
    private bool switched;
    /// <summary>After the switch: whether the stream still carries data (libvirt's job's processed bytes).</summary>
    private readonly PostcopyStream postcopyStream = new();

    private Core.Planning.MigrationPlan Plan => request.Plan;
    private string Vm => request.Vm.Name;
    private LibvirtSpec Spec => request.Vm.Libvirt!;

    /// <summary>libvirt makes the destination QEMU listen on the path the source QEMU connects to: the same on both hosts.</summary>
    public string EngineSocketPath => request.LibvirtSocketPath(run.Id);
    /// <summary>libvirt copies the disks inside its migration call: the flow has no disk phase of its own.</summary>
    public int DisksToCopy => 0;
    private IReadOnlyList<VmDisk> Copied => disks.Where(d => d.Copied).ToList();
    public int EngineDiskStreams => Plan.ViaEngine ? Copied.Count : 0;
    /// <summary>libvirt's destination NBD server listens on the path the source QEMU's NBD clients connect to: the same on both hosts.</summary>
    public string EngineDiskSocketPath => request.LibvirtDiskSocketPath(run.Id);
    public Task StartDiskCopyAsync(IncomingVmLease? lease, CancellationToken cancel) => Task.CompletedTask;
    public Task<bool> PollDisksAsync(CancellationToken cancel) => Task.FromResult(true);
    /// <summary>Not asked of libvirt: its QEMU connects to the engine's socket with the permissions libvirt gives it.</summary>
    public UnixAccount? SourceAccount => null;
    public Task Ended => migration ?? Never;

    /// <summary>The libvirt call this request makes (what -WhatIf shows), for a domain that is persistent or not.</summary>
    public static LibvirtMigrationCall CallFor(MigrationRequest request, bool persistent, string? engineSocket,
        IReadOnlyList<string>? disks = null, string? engineDiskSocket = null) =>
        LibvirtMigrationCall.For(request.Plan, request.Vm.Libvirt!.Domain, request.Vm.Libvirt.LocalUri,
            request.DestinationLibvirtUri ?? throw new MigrationException("LibvirtUriMissing", FailureKind.InvalidInput,
                $"no libvirt URI for {request.Plan.DestinationHost}", request.Plan.DestinationHost),
            persistent, engineSocket, disks, engineDiskSocket);

    private LibvirtMigrationCall Call(bool described = false)
    {
        var copied = Copied.Select(d => d.Key).ToList();
        return CallFor(request, persistent, Plan.ViaEngine ? (described ? request.LibvirtSocketPath("<id>") : EngineSocketPath) : null,
            copied, Plan.ViaEngine && copied.Count > 0 ? (described ? request.LibvirtDiskSocketPath("<id>") : EngineDiskSocketPath) : null);
    }

    /// <summary>-WhatIf: the disks libvirt would copy, read from the domain when its libvirt answers here; they are then
    /// the ones the call names.</summary>
    private IEnumerable<string> DescribeDisks()
    {
        try
        {
            using var described = LibvirtConnection.Open(Spec.LocalUri);
            using var found = described.Domain(Spec.Domain);
            disks = LibvirtDisks.Read(found);
        }
        catch (Exception e) when (e is LibvirtException or DllNotFoundException)
        {
            return [$"source libvirt {Spec.LocalUri}: the domain's disks (read when it migrates; not now: {e.Message})"];
        }
        var steps = disks.Select(disk => disk.Copied ? $"disk libvirt copies: {disk}" : $"disk left alone: {disk}").ToList();
        if (Copied.Count == 0) steps.Add("no writable local disk: nothing to copy, only memory moves");
        return steps;
    }

    public IEnumerable<string> Describe(MigrationPhase phase)
    {
        switch (phase)
        {
            case MigrationPhase.ConnectSource:
                yield return $"source libvirt {Spec.LocalUri}: domain {Spec.Domain} must be running or paused, with no job running";
                if (Plan.CopyStorage)
                    foreach (var step in DescribeDisks()) yield return step;
                break;
            case MigrationPhase.PrepareDestination when Plan.ViaEngine:
                yield return $"{Plan.DestinationHost}'s agent at {Plan.DestinationAddress}:{Plan.DestinationPort} (TLS, cluster certificate of {Plan.SourceHost}): " +
                             $"relay to libvirt's incoming socket {request.LibvirtSocketPath("<id>")} (libvirt's destination QEMU listens on the source's path)";
                break;
            case MigrationPhase.Start:
                var call = Call(described: true);
                yield return "source libvirt: " + call.Describe() + " (a transient domain has no VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE)";
                yield return "the same with virsh: " + call.ToVirsh();
                break;
            case MigrationPhase.Monitor:
                yield return $"source libvirt: virDomainGetJobStats every {MigrationFlow.PollEvery.TotalMilliseconds:0} ms until the call returns (" +
                             ConvergenceWatch.Describe(request, "virDomainAbortJob, libvirt resumes the source", "virDomainSuspend", "virDomainMigrateStartPostCopy") + ")";
                break;
            case MigrationPhase.Finish:
                yield return $"destination libvirt {request.DestinationLibvirtUri}: the domain's state and completed-job numbers (virDomainGetJobStats COMPLETED)";
                if (Plan.ViaEngine && request.UpdateInventory) yield return $"{Plan.DestinationHost}'s agent: the domain arrived (it records the move in its inventory)";
                break;
        }
    }

    public Task ConnectSourceAsync(CancellationToken cancel) => Task.Run(() =>
    {
        connection = LibvirtConnection.Open(Spec.LocalUri);
        domain = connection.Domain(Spec.Domain);
        monitorConnection = LibvirtConnection.Open(Spec.LocalUri);
        monitor = monitorConnection.Domain(Spec.Domain);
        var state = domain.State;
        persistent = domain.IsPersistent;
        run.Log.Verbose($"{Vm}: libvirt {Spec.LocalUri}: domain {Spec.Domain} is {state}{(persistent ? ", persistent" : ", transient")}");
        if (state is not ("running" or "paused"))
            throw new MigrationException("VMNotMigratable", FailureKind.OperationFailed,
                $"domain {Spec.Domain} ({Vm}) is {state} on {Plan.SourceHost}; only a running or paused domain migrates", Vm);
        if (domain.JobStats() is { IsActive: true })
            throw new MigrationException("MigrationInProgress", FailureKind.OperationFailed, $"domain {Spec.Domain} ({Vm}) already runs a job on {Plan.SourceHost}", Vm);
        if (!Plan.CopyStorage) return;
        disks = LibvirtDisks.Read(domain);
        foreach (var disk in disks) run.Log.Verbose($"{Vm}: disk {disk}{(disk.Copied ? ": libvirt copies it to " + Plan.DestinationHost : "")}");
        if (Copied.Count == 0)
            run.Warnings.Add($"storage: copy, but domain {Spec.Domain} has no writable local disk{(disks.Count > 0 ? $" ({string.Join("; ", disks)})" : "")}: only its memory moves.");
    }, cancel);

    /// <summary>Through the engine: the agent's leave to relay to the socket libvirt's destination QEMU will listen on. Direct: nothing, libvirt starts it.</summary>
    public async Task<IncomingVmLease?> PrepareDestinationAsync(SessionOptions control, CancellationToken cancel) =>
        Plan.ViaEngine ? await IncomingVmLease.PrepareRelayAsync(control, Vm, EngineSocketPath, EngineDiskStreams > 0 ? EngineDiskSocketPath : null, cancel) : null;

    public Task ConfigureSourceAsync(CancellationToken cancel) => Task.CompletedTask; // libvirt configures both QEMUs from the call's parameters

    public Task StartAsync(IncomingVmLease? lease, CancellationToken cancel)
    {
        var call = Call();
        run.Log.Verbose($"{Vm}: {call.Describe()}");
        run.Report("migrating");
        migration = Task.Factory.StartNew(() => domain!.Migrate(call), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    /// <summary>The job's numbers until the migration call returns (then its outcome counts); the downtime limit is set once the job runs.</summary>
    public async Task<bool> PollAsync(CancellationToken cancel)
    {
        if (migration!.IsCompleted)
        {
            if (switched && migration.IsFaulted) // the stream broke: the flow resumes it
            {
                if (PostcopyBrokenSince is null) run.Log.Verbose($"{Vm}: libvirt's post-copy call failed: {migration.Exception!.GetBaseException().Message}");
                WatchPostcopy(null);
                return false;
            }
            await migration; // libvirt's error, if it failed
            return true;
        }
        var stats = await JobStatsAsync();
        WatchPostcopy(stats);
        if (stats is { IsActive: true } job)
        {
            if (run.Log.DebugEnabled) run.Log.Debug($"{Vm}: libvirt virDomainGetJobStats: {job}");
            run.Report(job.ToProgress(Vm, run.Clock.Elapsed));
            diskBytesSeen = Math.Max(diskBytesSeen, job.DiskProcessed);
            if (!downtimeSet)
            {
                await TrySetDowntimeAsync(Plan.MaxDowntimeMs);
                downtimeSet = true;
            }
        }
        return false;
    }

    /// <summary>libvirt completed: the domain runs at the destination (libvirt started it there and ended the source).
    /// Its completed-job numbers come from the destination, which keeps them after the source's domain is gone.</summary>
    public async Task PauseSourceAsync(CancellationToken cancel)
    {
        run.Log.Verbose($"{Vm}: libvirt virDomainSuspend on {Spec.LocalUri}: the domain pauses, its migration goes on");
        await Task.Run(() => monitor!.Suspend(), cancel);
        pausedAt = DateTimeOffset.UtcNow;
    }

    public async Task SwitchToPostcopyAsync(IncomingVmLease? lease, CancellationToken cancel)
    {
        run.Log.Verbose($"{Vm}: libvirt virDomainMigrateStartPostCopy: libvirt starts the domain on {Plan.DestinationHost}, which pulls the rest");
        await Task.Run(() => monitor!.StartPostCopy(), cancel);
        switched = true;
        postcopyStream.Resumed();
        run.Warnings.Add($"{Vm} switched to post-copy after {run.Clock.Elapsed.TotalSeconds:0} s: from then on it ran on {Plan.DestinationHost}, and {Plan.SourceHost} could no longer resume it.");
    }

    /// <summary>When the post-copy stream last carried data, once it is broken: libvirt's call failed (the link was reset), or
    /// its job processed nothing for <see cref="PostcopyStream.Stall"/> (a link down).</summary>
    public DateTimeOffset? PostcopyBrokenSince { get; private set; }

    private void WatchPostcopy(LibvirtJobStats? job)
    {
        if (!switched) return;
        if (job is { IsActive: true } && postcopyStream.Moved(job.DataProcessed))
            PostcopyBrokenSince = null;
        else if (migration!.IsFaulted || postcopyStream.Stalled)
            PostcopyBrokenSince = postcopyStream.LastMoved;
    }

    /// <summary>A job still running on a stalled stream is paused in post-copy (VIR_DOMAIN_ABORT_JOB_POSTCOPY): its call returns.</summary>
    public async Task PausePostcopyAsync(CancellationToken cancel)
    {
        if (migration!.IsCompleted) return;
        run.Log.Verbose($"{Vm}: libvirt virDomainAbortJobFlags(VIR_DOMAIN_ABORT_JOB_POSTCOPY): its stalled post-copy pauses");
        try
        {
            await Task.Run(monitor!.PausePostcopy, cancel);
        }
        catch (LibvirtException) when (migration.IsCompleted)
        {
            // the call failed by itself meanwhile
        }
        await Task.WhenAny(migration, Task.Delay(AbortTimeout, cancel));
    }

    /// <summary>Direct: libvirt has the destination listen again itself. Through the engine: not driven (the relay lease
    /// would have to be taken again for libvirt's socket).</summary>
    public Task<IncomingVmLease?> RecoverDestinationAsync(SessionOptions control, CancellationToken cancel) =>
        Plan.ViaEngine ? throw NoRecovery() : Task.FromResult<IncomingVmLease?>(null);

    /// <summary>The migration call again, with VIR_MIGRATE_POSTCOPY_RESUME; resumed once libvirt's job carries data again (or it
    /// completed). A call that fails is this attempt's failure.</summary>
    public async Task ResumePostcopyAsync(IncomingVmLease? recovery, string? engineSocket, CancellationToken cancel)
    {
        var call = Call().Resuming();
        run.Log.Verbose($"{Vm}: {call.Describe()}");
        migration = Task.Factory.StartNew(() => domain!.Migrate(call), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        long? seen = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < AbortTimeout)
        {
            await Task.WhenAny(migration, Task.Delay(250, cancel));
            if (migration.IsCompleted)
            {
                await migration; // libvirt's error: not resumed
                break;
            }
            if (await JobStatsAsync() is { IsActive: true } job)
            {
                if (seen is { } before && job.DataProcessed != before) break; // it carries data again
                seen = job.DataProcessed;
            }
        }
        if (!migration.IsCompleted && seen is null)
            throw new MigrationException("PostcopyNotResumed", FailureKind.OperationFailed, $"libvirt did not resume {Vm}'s post-copy within {AbortTimeout.TotalSeconds:0} s", Vm);
        postcopyStream.Resumed();
        PostcopyBrokenSince = null;
    }

    public string PostcopyResumeHint =>
        $"on {Plan.SourceHost}: {Call().Resuming().ToVirsh()}";

    private MigrationException NoRecovery() =>
        new("PostcopyRecoveryUnsupported", FailureKind.OperationFailed,
            $"PSMigration does not recover a libvirt domain's post-copy through the engine: once a path is back, resume it with '{Call().Resuming().ToVirsh()}'", Vm);

    public async Task<MigrationTotals> FinishAsync(IncomingVmLease? lease)
    {
        var downtimeSincePause = pausedAt is { } paused ? (long)(DateTimeOffset.UtcNow - paused).TotalMilliseconds : (long?)null;
        run.Log.Verbose($"{Vm}: libvirt completed the migration; reading its numbers from {request.DestinationLibvirtUri}");
        var final = await Task.Run(DestinationStats);
        if (lease is not null && request.UpdateInventory) await TellArrivalAsync(lease);
        var diskBytes = Math.Max(final?.DiskProcessed ?? 0, diskBytesSeen);
        if (Copied.Count > 0 && diskBytes == 0) // honest statistics: not a copy of nothing
            run.Warnings.Add($"libvirt copied {Vm}'s disks but reported no byte count (its job ended between two reads of its numbers): diskBytes is 0.");
        var downtime = downtimeSincePause is { } sincePause ? Math.Max(sincePause, final?.DowntimeMs ?? 0) : final?.DowntimeMs;
        return new MigrationTotals((final?.DataProcessed ?? run.LastProgress?.TransferredBytes ?? 0) - (final?.DiskProcessed ?? 0), final?.ElapsedMs ?? 0, downtime)
        {
            Disks = Copied.Select(d => new CopiedDisk(d.Device, d.Path, d.Path, null)).ToList(), // libvirt keeps the path, and counts the disks together
            DiskBytes = diskBytes,
        };
    }

    /// <summary>Tells the relaying agent that libvirt completed, so the destination's inventory follows the domain; the
    /// domain runs there either way, so a failure here is a warning.</summary>
    private async Task TellArrivalAsync(IncomingVmLease lease)
    {
        try
        {
            using var brief = new CancellationTokenSource(IncomingVmLease.CommitTimeout);
            await lease.CommitAsync(resume: true, record: true, brief.Token);
        }
        catch (Exception e) when (e is MigrationException or OperationCanceledException or IOException)
        {
            run.Warnings.Add($"{Plan.DestinationHost}'s agent did not confirm {Vm}'s arrival ({FailureText.Of(e)}); its inventory may still place {Vm} on {Plan.SourceHost}");
        }
    }

    /// <summary>Aborts libvirt's job if it still runs (libvirt then resumes the source and removes the destination's
    /// domain), and checks that the domain runs on at the source.</summary>
    public async Task RollBackAsync(bool resumeSource)
    {
        if (migration is null || monitor is null) return;
        if (switched)
        {
            run.Warnings.Add($"{Vm}'s migration was past its switch to post-copy, so it was not aborted: see the error for where {Vm} stands.");
            return;
        }
        try
        {
            run.Log.Verbose($"{Vm}: rolling back: virDomainAbortJob (libvirt resumes the source and removes the destination's domain)");
            if (!migration.IsCompleted) await Bounded(Task.Run(monitor.AbortJob), "virDomainAbortJob");
        }
        catch (LibvirtException e) when (migration.IsCompleted || e.Code == LibvirtException.OperationInvalid)
        {
            // the job ended on its own meanwhile
        }
        catch (MigrationException e) // libvirt's refusal, or no answer in time
        {
            run.Warnings.Add($"Could not abort the migration job of domain {Spec.Domain}: {e.Message}");
        }
        try
        {
            await migration.WaitAsync(AbortTimeout).ContinueWith(_ => { });
            if (pausedAt is not null && resumeSource && await Task.Run(() => monitor.State) == "paused")
            {
                run.Log.Verbose($"{Vm}: it was paused to finish: virDomainResume");
                await Task.Run(monitor.Resume);
            }
            var state = await Task.Run(() => monitor.State);
            if (state != "running")
                run.Warnings.Add($"domain {Spec.Domain} is {state} on {Plan.SourceHost} after the failed migration");
        }
        catch (LibvirtException e)
        {
            run.Warnings.Add($"Could not confirm that domain {Spec.Domain} runs on {Plan.SourceHost} after the failure: {e.Message}");
        }
    }

    /// <summary>The migration call must have returned before its domain and connection go.</summary>
    public async ValueTask DisposeAsync()
    {
        if (migration is { IsCompleted: false }) await migration.WaitAsync(AbortTimeout).ContinueWith(_ => { });
        monitor?.Dispose();
        monitorConnection?.Dispose();
        if (migration is null || migration.IsCompleted)
        {
            domain?.Dispose();
            connection?.Dispose();
        }
    }

    /// <summary>One of libvirt's quick calls, given at most <see cref="CallTimeout"/>.</summary>
    private async Task<T> Bounded<T>(Task<T> call, string what)
    {
        await Bounded((Task)call, what);
        return await call;
    }

    private async Task Bounded(Task call, string what)
    {
        try
        {
            await call.WaitAsync(CallTimeout);
        }
        catch (TimeoutException)
        {
            throw new MigrationException("LibvirtNotAnswering", FailureKind.OperationFailed,
                $"libvirt at {Spec.LocalUri} did not answer {what} for domain {Spec.Domain} within {CallTimeout.TotalSeconds:0} s", Vm);
        }
    }

    /// <summary>The running job's numbers, or none between jobs. At the very end the source's domain stops (or is
    /// undefined) a moment before the migration call returns: then the call's outcome counts, not this error.</summary>
    private async Task<LibvirtJobStats?> JobStatsAsync()
    {
        try
        {
            return await Bounded(Task.Run(() => monitor!.JobStats()), "virDomainGetJobStats");
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
            await Task.Run(() => monitor!.SetMaxDowntime(milliseconds));
        }
        catch (LibvirtException e)
        {
            await Task.WhenAny(migration!, Task.Delay(SettleTimeout));
            if (!migration!.IsCompleted) run.Warnings.Add($"The downtime limit of {milliseconds} ms was not set: {e.Message}");
        }
    }

    private LibvirtJobStats? DestinationStats()
    {
        try
        {
            using var destination = LibvirtConnection.Open(request.DestinationLibvirtUri!);
            using var arrived = destination.Domain(Spec.Domain);
            if (arrived.State != "running")
                run.Warnings.Add($"domain {Spec.Domain} is {arrived.State} on {Plan.DestinationHost} after the migration");
            var completed = arrived.JobStats(completed: true);
            if (completed is null) // libvirt 9.0 keeps none after a post-copy migration
                run.Warnings.Add($"libvirt on {Plan.DestinationHost} kept no numbers of {Vm}'s completed migration: bytes are the last the source reported, the downtime is unknown.");
            return completed;
        }
        catch (LibvirtException e)
        {
            run.Warnings.Add($"Could not read the migration's final numbers from {Plan.DestinationHost}: {e.Message}");
            return null;
        }
    }
}
