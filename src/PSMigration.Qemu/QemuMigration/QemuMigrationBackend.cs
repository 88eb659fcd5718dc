using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Incoming;
using PSMigration.Qemu.Accounts;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Qmp;
using PSMigration.Qemu.Storage;

namespace PSMigration.Qemu.QemuMigration;

/// <summary>
/// A QEMU VM's migration over its QMP socket: the destination agent starts a paused twin with the same machine and
/// settings, both QEMUs get the plan's capabilities and parameters (<see cref="MigrationSetup"/>), QEMU migrates,
/// and the twin is started (committed) only once the whole VM arrived. Rolled back, QEMU cancels and the source runs
/// on; the twin stops when the lease ends.
/// </summary>
internal sealed class QemuMigrationBackend(MigrationRequest request, MigrationRun run) : IMigrationBackend
{
    private static readonly TimeSpan QmpTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    /// <summary>What both QEMUs are given, from the plan.</summary>
    private readonly MigrationSettings settings = MigrationSetup.From(request.Plan);
    private QmpClient? source;
    private bool sourceWasRunning;
    private bool migrateIssued;
    private QemuTls? tls;
    private static readonly Task Never = Task.Delay(Timeout.Infinite);
    private Task<QmpEvent>? end;
    private (QemuMigrationStatus Status, DateTimeOffset At)? completed;
    /// <summary>When the guest was paused to finish (timeoutAction: pause): its downtime runs from then.</summary>
    private DateTimeOffset? pausedAt;
    /// <summary>The commit made at the switch to post-copy (the twin runs from then), and how long the VM was down for it.</summary>
    private long? postcopyCommitMs;
    /// <summary>migrate-start-postcopy was issued: from then on the migration is never cancelled (the destination may run the VM).</summary>
    private bool switchIssued;
    /// <summary>The source's disks as QEMU reports them (copy-storage only), and the mirror of the ones copied.</summary>
    private IReadOnlyList<VmDisk> disks = [];
    /// <summary>After the switch: whether the stream still carries data.</summary>
    private readonly PostcopyStream postcopyStream = new();
    private DiskMirror? mirror;

    private Core.Planning.MigrationPlan Plan => request.Plan;
    private string Vm => request.Vm.Name;
    private bool DirectTls => Plan.Tls && !Plan.ViaEngine;

    public string EngineSocketPath => Path.Combine(request.RunDirectory, $"{Vm}.{run.Id}.outgoing");
    public string EngineDiskSocketPath => Path.Combine(request.RunDirectory, $"{Vm}.{run.Id}.nbd");
    private IReadOnlyList<VmDisk> Copied => disks.Where(d => d.Copied).ToList();
    public int DisksToCopy => disks.Count(d => d.Copied);
    public int EngineDiskStreams => Plan.ViaEngine ? DisksToCopy : 0;
    public Task Ended => end ?? Never;
    public UnixAccount? SourceAccount => source?.Peer;

    /// <summary>The twin the destination agent is asked to start for <paramref name="request"/>, receiving <paramref name="copied"/>.</summary>
    public static TwinRequest TwinFor(MigrationRequest request, IReadOnlyList<VmDisk> copied)
    {
        return new TwinRequest
        {
            Vm = request.Vm.Name,
            SourceQemu = request.Vm.Qemu!,
            Settings = MigrationSetup.From(request.Plan),
            Transport = request.Plan.Transport,
            ListenAddress = request.Plan.DestinationAddress,
            Tls = request.Plan.Tls,
            Disks = copied.Select(DiskToCopy.Of).ToList(),
        };
    }

    public IEnumerable<string> Describe(MigrationPhase phase)
    {
        var agent = $"{Plan.DestinationHost}'s agent at {Plan.DestinationAddress}:{Plan.DestinationPort}";
        switch (phase)
        {
            case MigrationPhase.ConnectSource:
                yield return $"source QMP {request.QmpPath}: query-status, query-migrate (the VM must be running or paused, and not migrating)";
                if (Plan.CopyStorage)
                    foreach (var step in DescribeSourceDisks()) yield return step;
                break;
            case MigrationPhase.PrepareDestination:
                var qemu = request.Vm.Qemu!;
                var twin = new QemuCommandLine(qemu.Binary, qemu.Args, qemu.Qmp, $"{RunDirectory.Placeholder}/{Vm}{TwinRequest.UncommittedPidSuffix}") { Incoming = true };
                if (DisksToCopy > 0)
                    yield return $"{agent}: check its free space for {ByteSize.Format(Copied.Sum(d => d.AllocatedBytes))}, create each image (same format and virtual size, " +
                                 "at the path its own inventory gives the disk; never over an existing file)";
                yield return $"{agent} (TLS, cluster certificate of {Plan.SourceHost}): start the twin paused, from its own inventory, " +
                             $"once it agrees that {Plan.SourceHost} holds {Vm} and describes it the same: {twin}";
                if (DisksToCopy > 0)
                    yield return "destination QMP: blockdev-add a node of its own on each image, nbd-server-start " +
                                 (Plan.ViaEngine ? "on a unix socket in the twin's folder (the agent relays to it)" : $"on {Plan.DestinationAddress}:<port>{(Plan.Tls ? " with tls-creds" : "")}") +
                                 ", block-export-add (writable); late-block-activate, so the twin's own disks open only at its 'cont'";
                if (DirectTls) yield return $"destination QMP: object-add tls-creds-x509 (endpoint server, verify-peer) from the cluster PKI of {Plan.DestinationHost}";
                foreach (var command in MigrationSetup.Describe(settings, DirectTls ? QemuTls.ObjectId : null, null)) yield return "destination QMP: " + command;
                yield return Plan.ViaEngine
                    ? "destination QMP: migrate-incoming {\"uri\":\"unix:<run dir>/<vm>.<id>.twin/incoming\"} (the agent relays to it)"
                    : $"destination QMP: migrate-incoming {{\"uri\":\"tcp:{Plan.DestinationAddress}:0\"}} (QEMU picks the port)";
                break;
            case MigrationPhase.ConfigureSource:
                if (DirectTls) yield return $"source QMP: object-add tls-creds-x509 (endpoint client) from the cluster PKI of {Plan.SourceHost}";
                foreach (var command in MigrationSetup.Describe(settings, DirectTls ? QemuTls.ObjectId : null, DirectTls ? Plan.DestinationHost : null))
                    yield return "source QMP: " + command;
                break;
            case MigrationPhase.CopyDisks when DisksToCopy > 0:
                yield return $"source QMP: for each disk blockdev-add an NBD client ({(Plan.ViaEngine ? "unix:<run dir>/<vm>.<id>.nbd, relayed by the engine" : $"{Plan.DestinationAddress}:<port>")}), " +
                             $"blockdev-mirror (sync full, write-blocking{(Plan.BandwidthCapGbps is { } cap ? $", speed: the {cap} Gbit/s cap shared by the disks" : "")}); " +
                             "query-block-jobs until every job is ready, then memory migrates";
                break;
            case MigrationPhase.Start:
                yield return Plan.ViaEngine
                    ? "source QMP: migrate {\"uri\":\"unix:<run dir>/<vm>.<id>.outgoing\"}"
                    : $"source QMP: migrate {{\"uri\":\"tcp:{Plan.DestinationAddress}:<port>\"}} (the route to {Plan.DestinationAddress} decides the NIC; planned: {Plan.SourceInterface})";
                break;
            case MigrationPhase.Monitor:
                yield return $"source QMP: query-migrate every {MigrationFlow.PollEvery.TotalMilliseconds:0} ms until completed ({ConvergenceWatch.Describe(request, "migrate_cancel", "stop", "migrate-start-postcopy, the twin committed at once")})";
                break;
            case MigrationPhase.Finish:
                if (Plan.CopyStorage)
                    yield return "source QMP (the source paused): block-job-cancel each ready mirror (no pivot: the copy is the disk as of the pause), job-dismiss, blockdev-del its NBD node";
                yield return $"{agent}: commit: check the VM arrived, {(Plan.CopyStorage ? "stop the NBD exports and server, " : "")}then 'cont' the twin";
                yield return "source QMP: quit";
                break;
        }
    }

    public async Task ConnectSourceAsync(CancellationToken cancel)
    {
        try
        {
            source = await QmpClient.ConnectAsync(request.QmpPath, QmpTimeout, cancel, run.Log);
        }
        catch (QmpException e) when (e.ErrorId == "QmpUnavailable")
        {
            throw new QmpException(e.ErrorId, $"{e.Message} Run the migration on {Plan.SourceHost}, where the inventory says {Vm} runs" +
                (request.Vm.Qemu!.Qmp.Contains(RunDirectory.Placeholder, StringComparison.Ordinal) ? $", with the run directory it was started with (now {request.RunDirectory})." : "."),
                e.SocketPath, inner: e);
        }
        var runState = await RunStateAsync(cancel);
        if (runState is not ("running" or "paused"))
            throw new MigrationException("VMNotMigratable", FailureKind.OperationFailed, $"{Vm} is '{runState}' on {Plan.SourceHost}; only a running or paused VM migrates", Vm);
        sourceWasRunning = runState == "running";
        var current = await StatusAsync(cancel);
        if (current.IsActive)
            throw new MigrationException("MigrationInProgress", FailureKind.OperationFailed, $"{Vm} is already migrating ({current.Status})", Vm);
        run.Log.Verbose($"{Vm}: {runState} on {Plan.SourceHost} (QMP {request.QmpPath}), no migration running");
        if (Plan.CopyStorage) await ReadDisksAsync(cancel);
    }

    /// <summary>Copy-storage: the disks come from the running source, not from the inventory.</summary>
    private async Task ReadDisksAsync(CancellationToken cancel)
    {
        disks = await VmDisk.ReadAsync(source!, cancel);
        foreach (var disk in disks) run.Log.Verbose($"{Vm}: disk {disk}{(disk.Copied ? ": copied to " + Plan.DestinationHost : "")}");
        if (DisksToCopy == 0)
            run.Warnings.Add($"storage: copy, but {Vm} has no writable local disk{(disks.Count > 0 ? $" ({string.Join("; ", disks)})" : "")}: only its memory moves.");
    }

    /// <summary>-WhatIf: the disks, read from the running source when its QMP socket answers here; they are then the ones
    /// the later phases describe.</summary>
    private IEnumerable<string> DescribeSourceDisks()
    {
        try
        {
            disks = ReadDisksForDescribeAsync().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is QmpException or MigrationException or OperationCanceledException or IOException)
        {
            return [$"source QMP {request.QmpPath}: query-block, query-named-block-nodes (the disks to copy are read from the running VM when it migrates; not now: {e.Message})"];
        }
        var steps = disks.Select(disk => disk.Copied ? $"disk to copy: {disk}" : $"disk left alone: {disk}").ToList();
        if (DisksToCopy == 0) steps.Add("no writable local disk: nothing to copy, only memory moves");
        return steps;
    }

    private async Task<IReadOnlyList<VmDisk>> ReadDisksForDescribeAsync()
    {
        using var brief = new CancellationTokenSource(QmpTimeout);
        await using var qmp = await QmpClient.ConnectAsync(request.QmpPath, QmpTimeout, brief.Token);
        return await VmDisk.ReadAsync(qmp, brief.Token);
    }

    public async Task<IncomingVmLease?> PrepareDestinationAsync(SessionOptions control, CancellationToken cancel) =>
        await IncomingVmLease.PrepareAsync(control, Vm, TwinFor(request, Copied).ToJson(), cancel);

    public async Task StartDiskCopyAsync(IncomingVmLease? lease, CancellationToken cancel)
    {
        var server = Plan.ViaEngine ? NbdAddress.Unix(EngineDiskSocketPath)
            : NbdAddress.Parse(lease!.Ready.DiskUri) ?? throw new MigrationException("DestinationNotReady", FailureKind.OperationFailed,
                $"the agent of {Plan.DestinationHost} did not say where it takes {Vm}'s disks", Plan.DestinationHost);
        mirror = new DiskMirror(source!, Copied, Plan.DestinationHost, run.Log, Vm);
        await mirror.StartAsync(server, DirectTls ? QemuTls.ObjectId : null, Plan.BandwidthCapGbps is { } cap ? (long)(cap * 1e9 / 8) : null, cancel);
    }

    public async Task<bool> PollDisksAsync(CancellationToken cancel)
    {
        var progress = await mirror!.PollAsync(cancel);
        run.Report(MigrationProgress.OfDisks(Vm, progress, run.Clock.Elapsed));
        return progress.All(p => p.Ready);
    }

    public async Task ConfigureSourceAsync(CancellationToken cancel)
    {
        if (DirectTls)
        {
            tls = QemuTls.Create(request.PkiDirectory, Plan.SourceHost, Path.Combine(request.RunDirectory, $"{Vm}.{run.Id}.tls"), server: false);
            await tls.AddAsync(source!, cancel);
        }
        await MigrationSetup.ApplyAsync(source!, settings, tls is null ? null : QemuTls.ObjectId, tls is null ? null : Plan.DestinationHost, cancel);
    }

    public async Task StartAsync(IncomingVmLease? lease, CancellationToken cancel)
    {
        var uri = Plan.ViaEngine ? "unix:" + EngineSocketPath : lease!.Ready.Uri;
        end = source!.WaitForEventAsync(e => e.Name == "MIGRATION" && e.Data.TryGetProperty("status", out var s) && s.GetString() is "completed" or "failed" or "cancelled",
            CancellationToken.None);
        await source.ExecuteAsync("migrate", new { uri }, cancel);
        migrateIssued = true;
    }

    public DateTimeOffset? PostcopyBrokenSince { get; private set; }

    public async Task<bool> PollAsync(CancellationToken cancel)
    {
        if (mirror is not null) await mirror.PollAsync(cancel); // a copy that broke ends the migration too
        var status = await StatusAsync(cancel);
        run.Report(status.ToProgress(Vm, run.Clock.Elapsed));
        if (switchIssued)
            PostcopyBrokenSince = postcopyStream.Moved(status.TransferredBytes) && status.Status == "postcopy-active" ? null
                : status.Status == "postcopy-paused" || postcopyStream.Stalled ? postcopyStream.LastMoved : null;
        switch (status.Status)
        {
            case "completed":
                run.Log.Verbose($"{Vm}: QEMU completed: {status.TransferredBytes / 1048576.0:0} MiB sent in {status.DirtySyncCount} pass(es)");
                completed = (status, end is { IsCompletedSuccessfully: true } ? end.Result.Received : DateTimeOffset.UtcNow);
                return true;
            case "failed" or "cancelled":
                throw new MigrationException("MigrationFailed", FailureKind.OperationFailed,
                    $"QEMU reports the migration of {Vm} {status.Status}{(status.Error is null ? "" : ": " + status.Error)}", Vm);
            default:
                return false;
        }
    }

    public async Task PausePostcopyAsync(CancellationToken cancel) => await PostcopyPause.EnsureAsync(source!, Vm, Plan.SourceHost, cancel);

    public async Task<IncomingVmLease?> RecoverDestinationAsync(SessionOptions control, CancellationToken cancel) =>
        await IncomingVmLease.RecoverAsync(control, Vm, TwinFor(request, []).ToJson(), cancel);

    /// <summary>migrate with resume: true, into the engine's new socket or where the destination listens again; done once QEMU
    /// runs the stream again (postcopy-active, or already completed). One that falls back to postcopy-paused failed.</summary>
    public async Task ResumePostcopyAsync(IncomingVmLease? recovery, string? engineSocket, CancellationToken cancel)
    {
        var uri = engineSocket is null ? recovery!.Ready.Uri : "unix:" + engineSocket;
        run.Log.Verbose($"{Vm}: source QMP: migrate {{\"uri\":\"{uri}\",\"resume\":true}}");
        await source!.ExecuteAsync("migrate", new { uri, resume = true }, cancel);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string state;
        while ((state = (await StatusAsync(cancel)).Status) is "postcopy-paused" or "postcopy-recover" && clock.Elapsed < SettleTimeout)
            await Task.Delay(50, cancel);
        if (state is not ("postcopy-active" or "completed"))
            throw new MigrationException("PostcopyNotResumed", FailureKind.OperationFailed, $"{Vm}'s post-copy did not resume (QEMU says '{state}')", Vm);
        PostcopyBrokenSince = null;
        postcopyStream.Resumed();
    }

    public string PostcopyResumeHint
    {
        get
        {
            var address = Core.Inventory.AddressParser.UriHost(Plan.DestinationAddress);
            return $"{Plan.SourceHost}'s QEMU (QMP {request.QmpPath}) is in postcopy-paused. On {Plan.DestinationHost}, on the VM's QMP socket: migrate-pause " +
                   $"if query-migrate still says postcopy-active, then migrate-recover {{\"uri\":\"tcp:{address}:PORT\"}}; then on {Plan.SourceHost}: " +
                   $"migrate {{\"uri\":\"tcp:{address}:PORT\",\"resume\":true}} (any free PORT).";
        }
    }

    public async Task PauseSourceAsync(CancellationToken cancel)
    {
        await source!.ExecuteAsync("stop", null, cancel);
        pausedAt = DateTimeOffset.UtcNow;
    }

    /// <summary>migrate-start-postcopy; once QEMU is in postcopy-active the source has stopped and sent the devices, so the
    /// twin is committed at once (it runs, pulling the pages it lacks). A switch QEMU refuses changes nothing; one that
    /// happened but whose commit is not confirmed is PostcopyUncertain (the VM runs nowhere, and the source must not resume).</summary>
    public async Task SwitchToPostcopyAsync(IncomingVmLease? lease, CancellationToken cancel)
    {
        if (mirror is not null)
            throw new MigrationException("PostcopyWithDisks", FailureKind.OperationFailed,
                $"{Vm} copies its local disks, and post-copy cannot take over such a migration here: it was cancelled instead and runs on at {Plan.SourceHost}", Vm);
        await source!.ExecuteAsync("migrate-start-postcopy", null, cancel);
        switchIssued = true;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        QemuMigrationStatus status;
        while ((status = await StatusAsync(cancel)).Status is not ("postcopy-active" or "completed" or "failed" or "cancelled") && clock.Elapsed < SettleTimeout)
            await Task.Delay(20, cancel);
        if (status.Status is not ("postcopy-active" or "completed"))
            throw new MigrationException("PostcopyFailed", FailureKind.OperationFailed,
                $"QEMU did not switch {Vm}'s migration to post-copy (it is '{status.Status}'{(status.Error is null ? "" : ": " + status.Error)})", Vm);
        var switched = DateTimeOffset.UtcNow;
        try
        {
            using var commitTimer = new CancellationTokenSource(IncomingVmLease.CommitTimeout);
            await lease!.CommitAsync(resume: sourceWasRunning, record: request.UpdateInventory, commitTimer.Token, postcopy: true);
        }
        catch (Exception e)
        {
            throw new MigrationException("PostcopyUncertain", FailureKind.OperationFailed,
                $"{Vm} switched to post-copy, but the agent of {Plan.DestinationHost} did not confirm running it ({FailureText.Of(e)}). Its memory is split " +
                $"between the two hosts: {Plan.SourceHost}'s QEMU holds the pages not yet sent and cannot resume it. Check {Plan.DestinationHost}: " +
                $"if its QEMU is in postcopy-paused, recover it there (QMP migrate-recover) and on {Plan.SourceHost} (QMP migrate with resume: true)", Vm, e);
        }
        postcopyCommitMs = (long)(DateTimeOffset.UtcNow - switched).TotalMilliseconds;
        run.Warnings.Add($"{Vm} switched to post-copy after {run.Clock.Elapsed.TotalSeconds:0} s: from then on it ran on {Plan.DestinationHost}, and {Plan.SourceHost} could no longer resume it.");
    }

    /// <summary>QEMU completed: start the twin (commit) at once, as the VM is down until then; then read QEMU's final
    /// numbers and stop the source. What fails after the commit is a warning on a completed migration.</summary>
    public async Task<MigrationTotals> FinishAsync(IncomingVmLease? lease)
    {
        var (status, completedAt) = completed!.Value;
        if (postcopyCommitMs is { } switchDown)
        {
            status = await CompletedStatusAsync(status);
            await QuitSourceAsync();
            return new MigrationTotals(status.TransferredBytes, status.TotalTimeMs, status.DowntimeMs + switchDown); // committed at the switch
        }
        var copiedDisks = await CompleteDisksAsync(lease);
        try
        {
            using var commitTimer = new CancellationTokenSource(IncomingVmLease.CommitTimeout);
            await lease!.CommitAsync(resume: sourceWasRunning, record: request.UpdateInventory, commitTimer.Token);
        }
        catch (ProtocolException e) // the agent refused: the twin is stopped, the source may run on
        {
            throw new MigrationException("DestinationNotStarted", FailureKind.OperationFailed,
                $"{Plan.DestinationHost} did not start {Vm}: {e.Message}", Plan.DestinationHost, e);
        }
        catch (Exception e)
        {
            throw new MigrationException("CommitUncertain", FailureKind.OperationFailed,
                $"{Vm} was copied, but the agent of {Plan.DestinationHost} did not confirm starting it ({e.Message}). " +
                $"The source stays paused on {Plan.SourceHost} so that {Vm} never runs twice: check {Plan.DestinationHost}, " +
                $"and resume the source (QMP 'cont') only if {Vm} is not running there.", Vm, e);
        }
        var commitMs = (long)(DateTimeOffset.UtcNow - (pausedAt ?? completedAt)).TotalMilliseconds; // paused to finish: down since then
        try
        {
            status = await CompletedStatusAsync(status);
        }
        catch (QmpException e)
        {
            run.Warnings.Add($"Could not read QEMU's final numbers: {e.Message}");
        }
        await QuitSourceAsync();
        return new MigrationTotals(status.TransferredBytes, status.TotalTimeMs, (pausedAt is null ? status.DowntimeMs : 0) + commitMs) { Disks = copiedDisks, DiskBytes = copiedDisks.Sum(d => d.Bytes ?? 0) };
    }

    /// <summary>The source paused: every mirror ends at this point of the disk, before the twin may run on its copy.</summary>
    private async Task<IReadOnlyList<CopiedDisk>> CompleteDisksAsync(IncomingVmLease? lease)
    {
        if (mirror is null) return [];
        using var settle = new CancellationTokenSource(SettleTimeout);
        var done = await mirror.CompleteAsync(settle.Token);
        var paths = lease!.Ready.DiskPaths ?? [];
        var copied = mirror.Disks.Select((disk, i) => new CopiedDisk(disk.Device, i < paths.Count ? paths[i] : "?", disk.Path, done[i].CopiedBytes)).ToList();
        mirror = null;
        run.Log.Verbose($"{Vm}: disk copies complete: {string.Join("; ", copied)}");
        return copied;
    }

    public async Task RollBackAsync(bool resumeSource)
    {
        if (source is null || source.Closed.IsCompleted) return;
        if (switchIssued)
        {
            run.Warnings.Add($"{Vm}'s migration was past its switch to post-copy, so it was not cancelled: see the error for where {Vm} stands.");
            return;
        }
        run.Log.Verbose($"{Vm}: rolling back on {Plan.SourceHost}{(migrateIssued ? ": cancelling QEMU's migration" : "")}{(resumeSource && sourceWasRunning ? ", the VM runs on" : "")}");
        try
        {
            using var settle = new CancellationTokenSource(SettleTimeout);
            if (migrateIssued)
            {
                await source.ExecuteAsync("migrate_cancel", null, settle.Token);
                while ((await StatusAsync(settle.Token)).IsActive) await Task.Delay(50, settle.Token);
            }
            if (mirror is not null) await mirror.AbortAsync(run.Warnings);
            if (resumeSource && sourceWasRunning && await RunStateAsync(settle.Token) != "running")
                await source.ExecuteAsync("cont", null, settle.Token);
        }
        catch (Exception e)
        {
            run.Warnings.Add($"Could not confirm that {Vm} runs on {Plan.SourceHost} after the failure: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        tls?.Dispose();
        if (source is not null) await source.DisposeAsync();
    }

    private async Task<string?> RunStateAsync(CancellationToken cancel) =>
        (await source!.ExecuteAsync("query-status", null, cancel)).GetProperty("status").GetString();

    private async Task<QemuMigrationStatus> StatusAsync(CancellationToken cancel) =>
        QemuMigrationStatus.Parse(await source!.ExecuteAsync("query-migrate", null, cancel));

    /// <summary>QEMU says "completed" a moment before it has filled in the times (absent, or 0): ask again until they are there.</summary>
    private async Task<QemuMigrationStatus> CompletedStatusAsync(QemuMigrationStatus status)
    {
        for (var attempt = 0; attempt < 50 && (status.DowntimeMs is not > 0 || status.TotalTimeMs <= 0); attempt++)
        {
            await Task.Delay(10);
            status = await StatusAsync(CancellationToken.None);
        }
        return status;
    }

    private async Task QuitSourceAsync()
    {
        try
        {
            using var brief = new CancellationTokenSource(SettleTimeout);
            await source!.ExecuteAsync("quit", null, brief.Token);
            await source.Closed.WaitAsync(brief.Token);
        }
        catch (Exception e) when (e is QmpException { ErrorId: "QmpClosed" })
        {
            // quit closes the socket, sometimes before its answer
        }
        catch (Exception e)
        {
            run.Warnings.Add($"{Vm} runs on {Plan.DestinationHost}, but its stopped source on {Plan.SourceHost} did not quit: {e.Message}");
        }
    }
}
