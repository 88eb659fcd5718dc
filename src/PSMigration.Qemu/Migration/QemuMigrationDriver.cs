using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
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
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan PrepareTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CommitTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    private readonly MigrationRequest request;
    private readonly IProgress<MigrationProgress>? progress;
    private readonly Stopwatch clock = new();
    private readonly List<string> warnings = new();
    private readonly string id = Guid.NewGuid().ToString("N")[..8];
    /// <summary>What both QEMUs are given, from the plan.</summary>
    private readonly MigrationSettings settings;
    private QmpClient? source;
    private bool sourceWasRunning;
    private bool migrateIssued;
    private IncomingVmLease? lease;
    private EngineSession? engine;
    private Socket? engineListener;
    private Task<TransferResult>? relay;
    private QemuTls? tls;
    private string? sourceInterface;
    private QemuMigrationStatus? lastStatus;

    private QemuMigrationDriver(MigrationRequest request, IProgress<MigrationProgress>? progress)
    {
        this.request = request;
        this.progress = progress;
        settings = MigrationSetup.From(request.Plan);
    }

    private Core.Planning.MigrationPlan Plan => request.Plan;
    private string Vm => request.Vm.Name;
    private bool ViaEngine => Plan.Transport == "engine";
    private bool Tls => Plan.Encryption == "tls";
    private string OutgoingPath => Path.Combine(request.RunDirectory, $"{Vm}.{id}.outgoing");

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
        clock.Start();
        try
        {
            await ConnectSourceAsync(cancel);
            Report("preparing the destination");
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
            return Result(cancelled ? MigrationStatusNames.Cancelled : MigrationStatusNames.Failed, lastStatus, null) with
            {
                ErrorId = cancelled ? "MigrationCancelled" : (e as MigrationException)?.ErrorId ?? "MigrationFailed",
                Error = cancelled
                    ? $"The migration of {Vm} was cancelled; {Vm} keeps running on {Plan.SourceHost}."
                    : Describe(e),
            };
        }
    }

    private async Task ConnectSourceAsync(CancellationToken cancel)
    {
        if (request.Vm.Qemu is null)
            throw new MigrationException("VMNotQemu", FailureKind.InvalidInput,
                $"{Vm} is {(request.Vm.Libvirt is null ? "not managed by QEMU here (no qemu section)" : "a libvirt domain")}; this driver migrates QEMU VMs with a 'qemu' section", Vm);
        try
        {
            source = await QmpClient.ConnectAsync(request.QmpPath, TimeSpan.FromSeconds(5), cancel);
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
    }

    private async Task PrepareDestinationAsync(CancellationToken cancel)
    {
        var qemu = request.Vm.Qemu!;
        var incoming = new IncomingRequest
        {
            Vm = Vm,
            Binary = qemu.Binary,
            Args = qemu.Args,
            Qmp = qemu.Qmp,
            Settings = settings,
            Transport = Plan.Transport,
            ListenAddress = Plan.DestinationAddress,
            Tls = Tls,
        };
        try
        {
            lease = await IncomingVmLease.PrepareAsync(SessionOptions(1), incoming, PrepareTimeout, cancel);
        }
        catch (ChannelException e)
        {
            throw new MigrationException("DestinationNotReady", FailureKind.OperationFailed, e.Message, Plan.DestinationHost, e);
        }
    }

    private async Task ConfigureSourceAsync(CancellationToken cancel)
    {
        string? tlsCreds = null;
        if (Tls && !ViaEngine)
        {
            tls = QemuTls.Create(request.PkiDirectory, Plan.SourceHost, Path.Combine(request.RunDirectory, $"{Vm}.{id}.tls"), server: false);
            await tls.AddAsync(source!, cancel);
            tlsCreds = QemuTls.ObjectId;
        }
        await MigrationSetup.ApplyAsync(source!, settings, tlsCreds, tlsCreds is null ? null : Plan.DestinationHost, cancel);
    }

    private async Task StartAsync(CancellationToken cancel)
    {
        string uri;
        if (ViaEngine)
        {
            var streams = settings.Multifd ? settings.Channels + 1 : 1; // the main channel, then one per multifd channel
            engineListener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            File.Delete(OutgoingPath);
            engineListener.Bind(new UnixDomainSocketEndPoint(OutgoingPath));
            engineListener.Listen(streams);
            try
            {
                engine = await EngineSession.OpenAsync(SessionOptions(streams), TransferMode.Relay, lease!.Ready.RelayTarget, cancel);
            }
            catch (ChannelException e)
            {
                throw new MigrationException("EngineFailed", FailureKind.OperationFailed, e.Message, Plan.DestinationHost, e);
            }
            var listener = engineListener;
            relay = engine.RelayAsync((_, token) => listener.AcceptAsync(token).AsTask(), CancellationToken.None);
            sourceInterface = Plan.SourceInterface; // the engine binds the planned address
            uri = "unix:" + OutgoingPath;
        }
        else
        {
            uri = lease!.Ready.Uri;
            var route = await RouteLookup.GetAsync(Plan.DestinationAddress, cancel);
            sourceInterface = route?.Interface;
            if (route is null)
                warnings.Add($"Could not look up the route to {Plan.DestinationAddress} ('ip route get'); the interface used is unknown.");
            else if (route.Interface != Plan.SourceInterface)
                warnings.Add($"The kernel routes {Plan.DestinationAddress} via {route.Interface}, not the planned {Plan.SourceInterface}: " +
                             "QEMU's direct transport follows the route. Fix the routing, or use transport 'engine', which binds the planned address.");
        }
        await source!.ExecuteAsync("migrate", new { uri }, cancel);
        migrateIssued = true;
    }

    /// <summary>Polls progress until QEMU completes; fails on QEMU's failure, the engine's, the agent going
    /// away, the timeout (a guest that does not converge) or cancellation.</summary>
    private async Task<(QemuMigrationStatus Final, DateTimeOffset CompletedAt)> MonitorAsync(CancellationToken cancel)
    {
        var ended = source!.WaitForEventAsync(e => e.Name == "MIGRATION" && e.Data.TryGetProperty("status", out var s) && s.GetString() is "completed" or "failed" or "cancelled", CancellationToken.None);
        var engineFailed = relay is null ? Task.Delay(Timeout.Infinite, CancellationToken.None) : relay.ContinueWith(_ => { }, TaskContinuationOptions.OnlyOnFaulted);
        var timeout = request.EffectiveTimeout;
        while (true)
        {
            var status = QemuMigrationStatus.Parse(await source.ExecuteAsync("query-migrate", null, cancel));
            Report(status);
            switch (status.Status)
            {
                case "completed":
                    return (status, ended.IsCompletedSuccessfully ? ended.Result.Received : DateTimeOffset.UtcNow);
                case "failed" or "cancelled":
                    throw new MigrationException("MigrationFailed", FailureKind.OperationFailed,
                        $"QEMU reports the migration of {Vm} {status.Status}{(status.Error is null ? "" : ": " + status.Error)}", Vm);
            }
            if (clock.Elapsed > timeout) throw NotConverging(status, timeout);
            await Task.WhenAny(Task.Delay(PollEvery, cancel), ended, engineFailed, lease!.Lost);
            cancel.ThrowIfCancellationRequested();
            if (relay is { IsFaulted: true })
                throw new MigrationException("EngineFailed", FailureKind.OperationFailed,
                    $"The engine connection to {Plan.DestinationHost} failed: {relay.Exception!.GetBaseException().Message}", Plan.DestinationHost);
            if (lease.Lost.IsCompleted)
                throw new MigrationException("DestinationLost", FailureKind.OperationFailed,
                    $"Lost the agent of {Plan.DestinationHost}: {lease.Lost.Result.Message}", Plan.DestinationHost);
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

    private MigrationException NotConverging(QemuMigrationStatus status, TimeSpan timeout) =>
        new("MigrationNotConverging", FailureKind.OperationFailed,
            $"{Vm} did not converge within {timeout.TotalSeconds:0} s: the guest dirties {status.DirtyRateMBps:0} MB/s while the network carries " +
            $"{status.ThroughputMBps:0} MB/s over {Plan.Network}; after {status.DirtySyncCount} passes {status.RemainingBytes / 1048576.0:0} MiB remain " +
            $"(expected downtime {status.ExpectedDowntimeMs?.ToString() ?? "?"} ms, limit {Plan.MaxDowntimeMs} ms). Raise maxDowntimeMs, use a faster network, " +
            $"allow postcopy, or migrate when the guest is quieter; use -TimeoutSeconds/--timeout to wait longer.", Vm);

    /// <summary>QEMU completed: start the twin (commit) at once, as the VM is down until then; then read QEMU's
    /// final numbers, stop the source, and record the move.</summary>
    private async Task<MigrationResult> FinishAsync(QemuMigrationStatus completed, DateTimeOffset completedAt)
    {
        Report("starting the VM on the destination");
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
            warnings.Add($"Could not read QEMU's final numbers: {e.Message}");
        }
        var downtime = final.DowntimeMs + commitMs;
        await QuitSourceAsync();
        var channelBytes = await RelayCountsAsync();
        var updated = UpdateInventory();
        Report("completed");
        return Result(MigrationStatusNames.Completed, final, downtime) with { ChannelBytes = channelBytes, InventoryUpdated = updated };
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
            warnings.Add($"{Vm} runs on {Plan.DestinationHost}, but its stopped source on {Plan.SourceHost} did not quit: {e.Message}");
        }
    }

    private async Task<IReadOnlyList<long>> RelayCountsAsync()
    {
        if (relay is null) return [];
        try
        {
            return (await relay.WaitAsync(SettleTimeout)).Channels.Select(c => c.BytesSent).ToList();
        }
        catch (Exception e)
        {
            warnings.Add($"The engine's connections did not close cleanly after the migration: {e.GetBaseException().Message}");
            return engine!.Stats.Select(s => s.BytesSent).ToList();
        }
    }

    private bool UpdateInventory()
    {
        if (!request.UpdateInventory || Plan.InventoryPath is null) return false;
        try
        {
            VmHostEditor.Move(Plan.InventoryPath, Vm, Plan.SourceHost, Plan.DestinationHost);
            return true;
        }
        catch (Exception e) when (e is MigrationException or IOException or UnauthorizedAccessException)
        {
            warnings.Add($"{Vm} runs on {Plan.DestinationHost}, but the inventory was not updated: {e.Message}");
            return false;
        }
    }

    /// <summary>Undoes a migration that did not finish: QEMU cancels, the engine resets, the source runs
    /// again (unless it was paused before), and the lease ends, so the agent stops the twin.</summary>
    private async Task RollBackAsync(bool resumeSource)
    {
        engine?.Abort();
        if (source is null || source.Closed.IsCompleted) return;
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
            warnings.Add($"Could not confirm that {Vm} runs on {Plan.SourceHost} after the failure: {e.Message}");
        }
    }

    private async Task ReleaseAsync()
    {
        if (engine is not null) await engine.DisposeAsync();
        engineListener?.Dispose();
        if (engineListener is not null) File.Delete(OutgoingPath);
        if (lease is not null) await lease.DisposeAsync();
        tls?.Dispose();
        if (source is not null) await source.DisposeAsync();
    }

    private SessionOptions SessionOptions(int channels) => new()
    {
        Agent = new IPEndPoint(IPAddress.Parse(Plan.DestinationAddress), Plan.DestinationPort),
        AgentHost = Plan.DestinationHost,
        Credentials = request.Credentials ?? throw new InvalidOperationException($"migrating {Vm} needs {Plan.SourceHost}'s credentials"),
        SourceAddress = IPAddress.Parse(Plan.SourceAddress),
        Channels = channels,
        Tls = Tls,
        Network = Plan.Network,
    };

    private void Report(string phase) =>
        progress?.Report(new MigrationProgress(Vm, phase, 0, 0, 0, 0, 0, null, 0, clock.Elapsed));

    private void Report(QemuMigrationStatus status)
    {
        lastStatus = status;
        progress?.Report(new MigrationProgress(Vm, status.Status, status.Percent, status.TransferredBytes, status.RemainingBytes,
            status.ThroughputMBps, status.DirtyRateMBps, status.ExpectedDowntimeMs, status.DirtySyncCount, clock.Elapsed));
    }

    private MigrationResult Result(string status, QemuMigrationStatus? final, long? downtime)
    {
        var totalMs = (long)clock.Elapsed.TotalMilliseconds;
        var bytes = final?.TransferredBytes ?? 0;
        var transferMs = final?.TotalTimeMs is > 0 ? final.TotalTimeMs : totalMs; // QEMU's own clock: the copy, not our setup
        return new MigrationResult
        {
            Status = status,
            Vm = Vm,
            SourceHost = Plan.SourceHost,
            DestinationHost = Plan.DestinationHost,
            Transport = Plan.Transport,
            Encryption = Plan.Encryption,
            Network = Plan.Network,
            SourceInterface = sourceInterface,
            SourceAddress = Plan.SourceAddress,
            DestinationAddress = Plan.DestinationAddress,
            Connections = Plan.Parallel ? Plan.Connections : 1,
            TotalTimeMs = totalMs,
            DowntimeMs = downtime,
            Bytes = bytes,
            ThroughputMBps = transferMs > 0 ? Math.Round(bytes / 1e6 / (transferMs / 1000.0), 1) : 0,
            Warnings = warnings.ToList(),
        };
    }

    private static string Describe(Exception e) => e switch
    {
        MigrationException m => m.Message,
        ChannelException c => c.Message,
        _ => $"{e.GetType().Name}: {e.Message}",
    };
}
