using System.Diagnostics;
using System.Net;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Engine.Transfer;

namespace PSMigration.Qemu.Migration;

/// <summary>What every migration driver (QEMU, libvirt) shares for one migration: its clock, warnings and
/// progress, the engine's session options, the route check of the direct transport, the inventory
/// update, and the result object.</summary>
internal sealed class MigrationRun
{
    /// <summary>How often a driver asks its hypervisor how the migration goes.</summary>
    public static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(250);
    private static readonly Task Never = Task.Delay(Timeout.Infinite);
    private readonly IProgress<MigrationProgress>? progress;

    public MigrationRun(MigrationRequest request, IProgress<MigrationProgress>? progress)
    {
        Request = request;
        this.progress = progress;
        Clock.Start();
    }

    public MigrationRequest Request { get; }
    public MigrationPlan Plan => Request.Plan;
    public string Vm => Request.Vm.Name;
    public Stopwatch Clock { get; } = new();
    public List<string> Warnings { get; } = new();
    /// <summary>Names this migration's files (sockets, credentials) apart from any other's.</summary>
    public string Id { get; } = Guid.NewGuid().ToString("N")[..8];
    public bool ViaEngine => Plan.ViaEngine;
    public bool Tls => Plan.Tls;
    /// <summary>The NIC the migration leaves by, once known.</summary>
    public string? SourceInterface { get; set; }
    public MigrationProgress? LastProgress { get; private set; }
    public IActivityLog Log => Request.Log;

    public SessionOptions SessionOptions(int channels) =>
        Request.SessionOptions(Request.Credentials ?? throw new InvalidOperationException($"migrating {Vm} needs {Plan.SourceHost}'s credentials"), channels);

    /// <summary>A new phase, with the numbers reached so far (after the copy: its final ones, not zeros).</summary>
    public void Report(string phase)
    {
        Log.Verbose($"{Vm}: {phase}");
        progress?.Report(LastProgress is { } last
            ? last with { Phase = phase, Elapsed = Clock.Elapsed }
            : new MigrationProgress(Vm, phase, 0, 0, 0, 0, 0, null, 0, Clock.Elapsed));
    }

    /// <summary>The last progress record: the whole VM sent, <paramref name="bytes"/> in all.</summary>
    public void ReportCompleted(long bytes)
    {
        var last = LastProgress;
        Report(new MigrationProgress(Vm, "completed", 100, Math.Max(bytes, last?.TransferredBytes ?? 0), 0, last?.ThroughputMBps ?? 0,
            last?.DirtyRateMBps ?? 0, null, last?.Iteration ?? 0, Clock.Elapsed));
    }

    public void Report(MigrationProgress now)
    {
        LastProgress = now;
        progress?.Report(now);
    }

    /// <summary>The direct transport binds nothing, so the kernel's route decides the NIC: record it, and warn when it is not the planned one.</summary>
    public async Task CheckRouteAsync(CancellationToken cancel)
    {
        var route = await RouteLookup.InterfaceAsync(Plan.DestinationAddress.ToString(), cancel);
        SourceInterface = route;
        Log.Verbose($"{Vm}: the kernel routes {Plan.DestinationAddress} via {route ?? "(unknown)"}; planned: {Plan.SourceInterface} on '{Plan.Network}'");
        if (route is null)
            Warnings.Add($"Could not look up the route to {Plan.DestinationAddress} ('ip route get'); the interface used is unknown.");
        else if (route != Plan.SourceInterface)
            Warnings.Add($"The kernel routes {Plan.DestinationAddress} via {route}, not the planned {Plan.SourceInterface}: " +
                         "the direct transport follows the route. Fix the routing, or use transport 'engine', which binds the planned address.");
    }

    /// <summary>Asks the destination agent for its side of the migration (a twin, or leave to relay).</summary>
    public async Task<IncomingVmLease> PrepareDestinationAsync(Func<Task<IncomingVmLease>> prepare)
    {
        try
        {
            return await prepare();
        }
        catch (ChannelException e)
        {
            throw new MigrationException("DestinationNotReady", FailureKind.OperationFailed, e.Message, Plan.DestinationHost, e);
        }
    }

    /// <summary>The engine transport: QEMU migrates to <paramref name="socketPath"/>, relayed to the lease's target.</summary>
    public async Task<EngineRelay> StartEngineAsync(string socketPath, IncomingVmLease lease, CancellationToken cancel)
    {
        var engine = await EngineRelay.StartAsync(socketPath, SessionOptions(EngineRelay.Streams(Plan)), lease.Ready.RelayTarget, cancel);
        SourceInterface = Plan.SourceInterface; // the engine binds the planned address
        return engine;
    }

    /// <summary>Between two polls: fails on the timeout (a guest that does not converge), then waits for the next poll
    /// or <paramref name="ended"/>, and fails on cancellation, the engine's failure or the agent going away.</summary>
    public async Task NextPollAsync(Task ended, EngineRelay? engine, IncomingVmLease? lease, CancellationToken cancel)
    {
        var timeout = Request.EffectiveTimeout;
        if (Clock.Elapsed > timeout) throw NotConverging(timeout);
        await Task.WhenAny(Task.Delay(PollEvery, cancel), ended, engine?.Failed ?? Never, lease?.Lost ?? Never);
        cancel.ThrowIfCancellationRequested();
        if (engine?.Fault is { } fault)
            throw new MigrationException("EngineFailed", FailureKind.OperationFailed,
                $"The engine connection to {Plan.DestinationHost} failed: {fault.Message}", Plan.DestinationHost);
        if (lease?.Lost is { IsCompleted: true } lost)
            throw new MigrationException("DestinationLost", FailureKind.OperationFailed,
                $"Lost the agent of {Plan.DestinationHost}: {lost.Result.Message}", Plan.DestinationHost);
    }

    private MigrationException NotConverging(TimeSpan timeout)
    {
        var status = LastProgress;
        return new("MigrationNotConverging", FailureKind.OperationFailed,
            $"{Vm} did not converge within {timeout.TotalSeconds:0} s: the guest dirties {status?.DirtyRateMBps ?? 0:0} MB/s while the network carries " +
            $"{status?.ThroughputMBps ?? 0:0} MB/s over {Plan.Network}; after {status?.Iteration ?? 0} passes {(status?.RemainingBytes ?? 0) / 1048576.0:0} MiB remain " +
            $"(expected downtime {status?.ExpectedDowntimeMs?.ToString() ?? "?"} ms, limit {Plan.MaxDowntimeMs} ms). Raise maxDowntimeMs, use a faster network, " +
            $"allow postcopy, or migrate when the guest is quieter; use -TimeoutSeconds/--timeout to wait longer.", Vm);
    }

    /// <summary>Records the VM's new host; a failure is a warning, as the VM already runs there.</summary>
    public bool UpdateInventory()
    {
        if (!Request.UpdateInventory || Plan.InventoryPath is null) return false;
        try
        {
            VmHostEditor.Move(Plan.InventoryPath, Vm, Plan.SourceHost, Plan.DestinationHost);
            Log.Verbose($"{Vm}: inventory {Plan.InventoryPath}: host {Plan.SourceHost} -> {Plan.DestinationHost}");
            return true;
        }
        catch (Exception e) when (e is MigrationException or IOException or UnauthorizedAccessException)
        {
            Warnings.Add($"{Vm} runs on {Plan.DestinationHost}, but the inventory was not updated: {e.Message}");
            return false;
        }
    }

    /// <param name="transferMs">The hypervisor's own migration time (the copy, not our setup); 0 when unknown.</param>
    public MigrationResult Result(string status, long bytes, long transferMs, long? downtime)
    {
        var totalMs = (long)Clock.Elapsed.TotalMilliseconds;
        if (transferMs <= 0) transferMs = totalMs;
        return new MigrationResult
        {
            Status = status,
            Vm = Vm,
            SourceHost = Plan.SourceHost,
            DestinationHost = Plan.DestinationHost,
            Transport = Plan.Transport,
            Encryption = Plan.Encryption,
            Network = Plan.Network,
            SourceInterface = SourceInterface,
            SourceAddress = Plan.SourceAddress,
            DestinationAddress = Plan.DestinationAddress,
            Connections = Plan.Channels,
            TotalTimeMs = totalMs,
            DowntimeMs = downtime,
            Bytes = bytes,
            ThroughputMBps = transferMs > 0 ? Math.Round(bytes / 1e6 / (transferMs / 1000.0), 1) : 0,
            Warnings = Warnings.ToList(),
        };
    }

    /// <summary>A migration that did not finish: Cancelled (the caller's cancel) or Failed with the error's id.</summary>
    public MigrationResult Failure(Exception e, bool cancelled) =>
        Result(cancelled ? MigrationStatusNames.Cancelled : MigrationStatusNames.Failed, LastProgress?.TransferredBytes ?? 0, 0, null) with
        {
            ErrorId = cancelled ? "MigrationCancelled" : (e as MigrationException)?.ErrorId ?? "MigrationFailed",
            Error = cancelled ? $"The migration of {Vm} was cancelled; {Vm} keeps running on {Plan.SourceHost}." : Describe(e),
        };

    private static string Describe(Exception e) => e switch
    {
        MigrationException m => m.Message,
        ChannelException c => c.Message,
        _ => $"{e.GetType().Name}: {e.Message}",
    };
}
