using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Yaml;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Migration;

/// <summary>
/// Live-migrates one QEMU VM by its plan, from the source host: the destination agent starts a
/// paused twin, both QEMUs get the same settings, QEMU migrates over the planned network (direct,
/// or through the engine's connections), and the twin is started only once the whole VM arrived.
/// Whatever fails or is cancelled before that, the source runs on and the twin is removed.
/// Failures are results (Failed/Cancelled with an error id), not exceptions.
/// </summary>
public sealed class QemuMigrationDriver
{
    private static readonly TimeSpan PrepareTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    private readonly MigrationRun run;
    private readonly MigrationRequest request;
    /// <summary>What both QEMUs are given, from the plan.</summary>
    private readonly MigrationSettings settings;
    private QmpClient? source;
    private bool sourceWasRunning;
    private bool migrateIssued;
    private IncomingVmLease? lease;
    private EngineRelay? engine;
    private QemuTls? tls;

    private QemuMigrationDriver(MigrationRequest request, IProgress<MigrationProgress>? progress)
    {
        run = new MigrationRun(request, progress);
        this.request = request;
        settings = MigrationSetup.From(request.Plan);
    }

    private Core.Planning.MigrationPlan Plan => request.Plan;
    private string Vm => request.Vm.Name;
    private string OutgoingPath => Path.Combine(request.RunDirectory, $"{Vm}.{run.Id}.outgoing");

    public static async Task<MigrationResult> MigrateAsync(MigrationRequest request, IProgress<MigrationProgress>? progress, CancellationToken cancel)
    {
        var driver = new QemuMigrationDriver(request, progress);
        try
        {
            return await driver.RunAsync(cancel);
        }
        finally
        {
            await driver.ReleaseAsync();
        }
    }

    private async Task<MigrationResult> RunAsync(CancellationToken cancel)
    {
        try
        {
            await ConnectSourceAsync(cancel);
            run.Report("preparing the destination");
            await PrepareDestinationAsync(cancel);
            await ConfigureSourceAsync(cancel);
            await StartAsync(cancel);
            var (final, completedAt) = await MonitorAsync(cancel);
            return await FinishAsync(final, completedAt); // past this point a cancel no longer undoes anything
        }
        catch (Exception e)
        {
            var uncertain = e is MigrationException { ErrorId: "CommitUncertain" };
            var cancelled = cancel.IsCancellationRequested && !uncertain;
            await RollBackAsync(resumeSource: !uncertain);
            return run.Failure(e, cancelled);
        }
    }

    private async Task ConnectSourceAsync(CancellationToken cancel)
    {
        if (request.Vm.Qemu is null)
            throw new MigrationException("VMBackendUnknown", FailureKind.InvalidInput,
                $"{Vm} has neither a qemu nor a libvirt section in the inventory: psmig does not know how to reach it", Vm);
        try
        {
            source = await QmpClient.ConnectAsync(request.QmpPath, TimeSpan.FromSeconds(5), cancel, run.Log);
        }
        catch (QmpException e) when (e.ErrorId == "QmpUnavailable")
        {
            throw new QmpException(e.ErrorId, $"{e.Message} Run the migration on {Plan.SourceHost}, where the inventory says {Vm} runs" +
                (request.Vm.Qemu.Qmp.Contains(Launch.RunDirectory.Placeholder, StringComparison.Ordinal) ? $", with the run directory it was started with (now {request.RunDirectory})." : "."),
                e.SocketPath, inner: e);
        }
        var runState = (await source.ExecuteAsync("query-status", null, cancel)).GetProperty("status").GetString();
        if (runState is not ("running" or "paused"))
            throw new MigrationException("VMNotMigratable", FailureKind.OperationFailed, $"{Vm} is '{runState}' on {Plan.SourceHost}; only a running or paused VM migrates", Vm);
        sourceWasRunning = runState == "running";
        var current = QemuMigrationStatus.Parse(await source.ExecuteAsync("query-migrate", null, cancel));
        if (current.IsActive)
            throw new MigrationException("MigrationInProgress", FailureKind.OperationFailed, $"{Vm} is already migrating ({current.Status})", Vm);
        run.Log.Verbose($"{Vm}: {runState} on {Plan.SourceHost} (QMP {request.QmpPath}), no migration running");
    }

    private async Task PrepareDestinationAsync(CancellationToken cancel)
    {
        var incoming = IncomingRequestFor(request);
        lease = await run.PrepareDestinationAsync(() => IncomingVmLease.PrepareAsync(run.SessionOptions(1), incoming, PrepareTimeout, cancel));
    }

    /// <summary>The twin the destination agent is asked to start for <paramref name="request"/> (a QEMU VM).</summary>
    internal static IncomingRequest IncomingRequestFor(MigrationRequest request)
    {
        var qemu = request.Vm.Qemu!;
        return new IncomingRequest
        {
            Vm = request.Vm.Name,
            Binary = qemu.Binary,
            Args = qemu.Args,
            Qmp = qemu.Qmp,
            Settings = MigrationSetup.From(request.Plan),
            Transport = Spelling.Of(request.Plan.Transport),
            ListenAddress = request.Plan.DestinationAddress.ToString(),
            Tls = request.Plan.Tls,
        };
    }

    private async Task ConfigureSourceAsync(CancellationToken cancel)
    {
        string? tlsCreds = null;
        if (run.Tls && !run.ViaEngine)
        {
            tls = QemuTls.Create(request.PkiDirectory, Plan.SourceHost, Path.Combine(request.RunDirectory, $"{Vm}.{run.Id}.tls"), server: false);
            await tls.AddAsync(source!, cancel);
            tlsCreds = QemuTls.ObjectId;
        }
        await MigrationSetup.ApplyAsync(source!, settings, tlsCreds, tlsCreds is null ? null : Plan.DestinationHost, cancel);
    }

    private async Task StartAsync(CancellationToken cancel)
    {
        string uri;
        if (run.ViaEngine)
        {
            engine = await run.StartEngineAsync(OutgoingPath, lease!, cancel);
            uri = "unix:" + OutgoingPath;
        }
        else
        {
            uri = lease!.Ready.Uri;
            await run.CheckRouteAsync(cancel);
        }
        await source!.ExecuteAsync("migrate", new { uri }, cancel);
        migrateIssued = true;
    }

    /// <summary>Polls progress until QEMU completes; fails on QEMU's failure, the engine's, the agent going
    /// away, the timeout (a guest that does not converge) or cancellation.</summary>
    private async Task<(QemuMigrationStatus Final, DateTimeOffset CompletedAt)> MonitorAsync(CancellationToken cancel)
    {
        var ended = source!.WaitForEventAsync(e => e.Name == "MIGRATION" && e.Data.TryGetProperty("status", out var s) && s.GetString() is "completed" or "failed" or "cancelled", CancellationToken.None);
        while (true)
        {
            var status = QemuMigrationStatus.Parse(await source.ExecuteAsync("query-migrate", null, cancel));
            Report(status);
            switch (status.Status)
            {
                case "completed":
                    run.Log.Verbose($"{Vm}: QEMU completed: {status.TransferredBytes / 1048576.0:0} MiB sent in {status.DirtySyncCount} pass(es)");
                    return (status, ended.IsCompletedSuccessfully ? ended.Result.Received : DateTimeOffset.UtcNow);
                case "failed" or "cancelled":
                    throw new MigrationException("MigrationFailed", FailureKind.OperationFailed,
                        $"QEMU reports the migration of {Vm} {status.Status}{(status.Error is null ? "" : ": " + status.Error)}", Vm);
            }
            await run.NextPollAsync(ended, engine, lease, cancel);
        }
    }

    /// <summary>QEMU says "completed" a moment before it has filled in the times (absent, or 0): ask again until they are there.</summary>
    private async Task<QemuMigrationStatus> CompletedStatusAsync(QemuMigrationStatus status, CancellationToken cancel)
    {
        for (var attempt = 0; attempt < 50 && (status.DowntimeMs is not > 0 || status.TotalTimeMs <= 0); attempt++)
        {
            await Task.Delay(10, cancel);
            status = QemuMigrationStatus.Parse(await source!.ExecuteAsync("query-migrate", null, cancel));
        }
        return status;
    }

    /// <summary>QEMU completed: start the twin (commit) at once, as the VM is down until then; then read QEMU's
    /// final numbers, stop the source, and record the move.</summary>
    private async Task<MigrationResult> FinishAsync(QemuMigrationStatus completed, DateTimeOffset completedAt)
    {
        run.Report("starting the VM on the destination");
        try
        {
            // Not the caller's token: once QEMU has completed, finishing is the quickest way back to a running VM.
            using var commitTimer = new CancellationTokenSource(CommitTimeout);
            await lease!.CommitAsync(resume: sourceWasRunning, commitTimer.Token);
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
        // The VM runs at the destination now: from here on nothing is undone and nothing is cancelled;
        // what fails is reported as a warning on a completed migration.
        var commitMs = (long)(DateTimeOffset.UtcNow - completedAt).TotalMilliseconds;
        var final = completed;
        try
        {
            final = await CompletedStatusAsync(completed, CancellationToken.None);
        }
        catch (QmpException e)
        {
            run.Warnings.Add($"Could not read QEMU's final numbers: {e.Message}");
        }
        var downtime = final.DowntimeMs + commitMs;
        await QuitSourceAsync();
        var channelBytes = engine is null ? [] : await engine.CountsAsync(run.Warnings);
        var updated = run.UpdateInventory();
        run.ReportCompleted(final.TransferredBytes);
        return run.Result(MigrationStatusNames.Completed, final.TransferredBytes, final.TotalTimeMs, downtime) with { ChannelBytes = channelBytes.ToTextList(), InventoryUpdated = updated };
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

    /// <summary>Undoes a migration that did not finish: QEMU cancels, the engine resets, the source runs
    /// again (unless it was paused before), and the lease ends, so the agent stops the twin.</summary>
    private async Task RollBackAsync(bool resumeSource)
    {
        engine?.Abort();
        if (source is null || source.Closed.IsCompleted) return;
        run.Log.Verbose($"{Vm}: rolling back on {Plan.SourceHost}{(migrateIssued ? ": cancelling QEMU's migration" : "")}{(resumeSource && sourceWasRunning ? ", the VM runs on" : "")}");
        try
        {
            using var settle = new CancellationTokenSource(SettleTimeout);
            if (migrateIssued)
            {
                await source.ExecuteAsync("migrate_cancel", null, settle.Token);
                while (QemuMigrationStatus.Parse(await source.ExecuteAsync("query-migrate", null, settle.Token)).IsActive)
                    await Task.Delay(50, settle.Token);
            }
            var runState = (await source.ExecuteAsync("query-status", null, settle.Token)).GetProperty("status").GetString();
            if (resumeSource && sourceWasRunning && runState != "running")
                await source.ExecuteAsync("cont", null, settle.Token);
        }
        catch (Exception e)
        {
            run.Warnings.Add($"Could not confirm that {Vm} runs on {Plan.SourceHost} after the failure: {e.Message}");
        }
    }

    private async Task ReleaseAsync()
    {
        if (engine is not null) await engine.DisposeAsync();
        if (lease is not null) await lease.DisposeAsync();
        tls?.Dispose();
        if (source is not null) await source.DisposeAsync();
    }

    private void Report(QemuMigrationStatus status) =>
        run.Report(new MigrationProgress(Vm, status.Status, status.Percent, status.TransferredBytes, status.RemainingBytes,
            status.ThroughputMBps, status.DirtyRateMBps, status.ExpectedDowntimeMs, status.DirtySyncCount, run.Clock.Elapsed));
}
