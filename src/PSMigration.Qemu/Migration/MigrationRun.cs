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
    public bool ViaEngine => Plan.Transport == "engine";
    public bool Tls => Plan.Encryption == "tls";
    /// <summary>The NIC the migration leaves by, once known.</summary>
    public string? SourceInterface { get; set; }
    public MigrationProgress? LastProgress { get; private set; }

    public SessionOptions SessionOptions(int channels) => new()
    {
        Agent = new IPEndPoint(IPAddress.Parse(Plan.DestinationAddress), Plan.DestinationPort),
        AgentHost = Plan.DestinationHost,
        Credentials = Request.Credentials ?? throw new InvalidOperationException($"migrating {Vm} needs {Plan.SourceHost}'s credentials"),
        SourceAddress = IPAddress.Parse(Plan.SourceAddress),
        Channels = channels,
        Tls = Tls,
        Network = Plan.Network,
    };

    public void Report(string phase) =>
        progress?.Report(new MigrationProgress(Vm, phase, 0, 0, 0, 0, 0, null, 0, Clock.Elapsed));

    public void Report(MigrationProgress now)
    {
        LastProgress = now;
        progress?.Report(now);
    }

    /// <summary>The direct transport binds nothing, so the kernel's route decides the NIC: record it, and warn when it is not the planned one.</summary>
    public async Task CheckRouteAsync(CancellationToken cancel)
    {
        var route = await RouteLookup.GetAsync(Plan.DestinationAddress, cancel);
        SourceInterface = route?.Interface;
        if (route is null)
            Warnings.Add($"Could not look up the route to {Plan.DestinationAddress} ('ip route get'); the interface used is unknown.");
        else if (route.Interface != Plan.SourceInterface)
            Warnings.Add($"The kernel routes {Plan.DestinationAddress} via {route.Interface}, not the planned {Plan.SourceInterface}: " +
                         "the direct transport follows the route. Fix the routing, or use transport 'engine', which binds the planned address.");
    }

    public MigrationException NotConverging(TimeSpan timeout, MigrationProgress? status) =>
        new("MigrationNotConverging", FailureKind.OperationFailed,
            $"{Vm} did not converge within {timeout.TotalSeconds:0} s: the guest dirties {status?.DirtyRateMBps ?? 0:0} MB/s while the network carries " +
            $"{status?.ThroughputMBps ?? 0:0} MB/s over {Plan.Network}; after {status?.Iteration ?? 0} passes {(status?.RemainingBytes ?? 0) / 1048576.0:0} MiB remain " +
            $"(expected downtime {status?.ExpectedDowntimeMs?.ToString() ?? "?"} ms, limit {Plan.MaxDowntimeMs} ms). Raise maxDowntimeMs, use a faster network, " +
            $"allow postcopy, or migrate when the guest is quieter; use -TimeoutSeconds/--timeout to wait longer.", Vm);

    /// <summary>Records the VM's new host; a failure is a warning, as the VM already runs there.</summary>
    public bool UpdateInventory()
    {
        if (!Request.UpdateInventory || Plan.InventoryPath is null) return false;
        try
        {
            VmHostEditor.Move(Plan.InventoryPath, Vm, Plan.SourceHost, Plan.DestinationHost);
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
            Connections = Plan.Parallel ? Plan.Connections : 1,
            TotalTimeMs = totalMs,
            DowntimeMs = downtime,
            Bytes = bytes,
            ThroughputMBps = transferMs > 0 ? Math.Round(bytes / 1e6 / (transferMs / 1000.0), 1) : 0,
            Warnings = Warnings.ToList(),
        };
    }

    /// <summary>A migration that did not finish: Cancelled (the caller's cancel) or Failed with the error's id.</summary>
    public MigrationResult Failure(Exception e, bool cancelled, long bytes) =>
        Result(cancelled ? MigrationStatusNames.Cancelled : MigrationStatusNames.Failed, bytes, 0, null) with
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
