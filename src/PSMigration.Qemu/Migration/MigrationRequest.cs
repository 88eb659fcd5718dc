using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using System.Net;
using PSMigration.Engine.Security;
using PSMigration.Engine.Transfer;

namespace PSMigration.Qemu.Migration;

/// <summary>One migration: the plan, the VM, and this host's credentials; run here when psmig runs on the source host,
/// else through the source host's agent (<see cref="Remote"/>).</summary>
public sealed record MigrationRequest
{
    public required MigrationPlan Plan { get; init; }
    public required VirtualMachine Vm { get; init; }
    /// <summary>This host's certificate and the cluster CA (the source's, or with <see cref="Remote"/> the caller's, which
    /// asks the source agent): needed to migrate, not to describe the steps.</summary>
    public HostCredentials? Credentials { get; init; }
    /// <summary>The cluster PKI directory (QEMU's own TLS on the direct transport reads it).</summary>
    public required string PkiDirectory { get; init; }
    public string RunDirectory { get; init; } = Launch.RunDirectory.Default;
    /// <summary>The memory's timeout (then the plan's timeoutAction: cancel, pause or post-copy); null for <see cref="DefaultTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>libvirt VMs: how the source's libvirt daemon reaches the destination's (the destination host's <c>libvirt.uri</c>).</summary>
    public string? DestinationLibvirtUri { get; init; }
    /// <summary>Switch to post-copy this long after memory starts moving (zero: once the first pass has sent all of RAM),
    /// whatever the timeout (-Postcopy, --postcopy-after); null: only by the policy's timeoutAction.</summary>
    public TimeSpan? PostcopyAfter { get; init; }
    /// <summary>Record the VM's new host in the inventory when it completes.</summary>
    public bool UpdateInventory { get; init; } = true;
    /// <summary>The network the user named (null: the planner's choice) and the overrides of the policy: what a source
    /// agent is asked, which plans again from its own inventory.</summary>
    public string? NetworkAsked { get; init; }
    public PlanOverrides Overrides { get; init; } = new();
    /// <summary>Null when psmig runs on the source host; else how it reaches the source host's agent, which runs the migration.</summary>
    public SourceAgent? Remote { get; init; }
    /// <summary>Why this machine can run the migration neither here nor through the source's agent (it is no host of
    /// the inventory); thrown when the migration is launched, not when it is described.</summary>
    public MigrationException? NotRunnableHere { get; init; }
    /// <summary>Told each step as it happens (verbose) and the protocols underneath (debug).</summary>
    public IActivityLog Log { get; init; } = SilentLog.Instance;

    /// <summary>The request for a plan, with what the inventory says about its VM and its destination.</summary>
    public static MigrationRequest For(MigrationInventory inventory, MigrationPlan plan, string pkiDirectory)
    {
        var (remote, problem) = SourceAgent.For(inventory, plan);
        return new()
        {
            Plan = plan,
            Vm = inventory.Vm(plan.Vm),
            PkiDirectory = pkiDirectory,
            DestinationLibvirtUri = inventory.Host(plan.DestinationHost).LibvirtUri,
            Remote = remote,
            NotRunnableHere = problem,
        };
    }

    /// <summary>The policy's completionTimeoutPerGiB times the VM's RAM; without it, ten times one copy of the VM's RAM at
    /// the planned bandwidth, and never under two minutes: long enough for a busy guest to converge, short enough that
    /// one that cannot is reported (or its timeoutAction taken).</summary>
    public static TimeSpan DefaultTimeout(VirtualMachine vm, MigrationPlan plan)
    {
        if (plan.CompletionTimeoutPerGiB is { } perGiB) return TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(perGiB * vm.MemoryMiB / 1024.0)));
        var copySeconds = TransferTime.Seconds(vm.MemoryMiB, plan.BandwidthGbps);
        return TimeSpan.FromSeconds(Math.Max(120, Math.Ceiling(10 * copySeconds)));
    }

    public TimeSpan EffectiveTimeout => Timeout ?? DefaultTimeout(Vm, Plan);

    /// <summary>How this migration reaches the destination agent: from the planned source address to the
    /// destination's on the planned network, with <paramref name="credentials"/>; a connection that breaks comes back
    /// within the plan's linkLossToleranceSeconds, on its network or on the plan's failover networks in order.</summary>
    public SessionOptions SessionOptions(HostCredentials credentials, int channels) => new()
    {
        Agent = new IPEndPoint(Plan.DestinationAddress, Plan.DestinationPort),
        AgentHost = Plan.DestinationHost,
        Credentials = credentials,
        SourceAddress = Plan.SourceAddress,
        Channels = channels,
        Tls = Plan.Tls,
        Network = Plan.Network,
        Failover = Plan.Failover.Select(Route).ToList(),
        Stripe = StripeRoutes(channels),
        LinkLossTolerance = TimeSpan.FromSeconds(Plan.LinkLossToleranceSeconds),
        Log = Log,
    };
    private AgentRoute Route(NetworkPath path) => AgentRoute.Of(path, Plan.DestinationPort);

    /// <summary>A striped plan: each of the <paramref name="channels"/> engine channels' way. The leading ones (each copied
    /// disk's stream, QEMU's main channel) go the planned way; the multifd connections after them take the stripe's turns.</summary>
    private IReadOnlyList<AgentRoute> StripeRoutes(int channels)
    {
        if (Plan.Stripe.Count == 0 || channels <= Plan.Connections) return []; // a one-channel session (a lease, a check) is not striped
        var leading = Enumerable.Repeat(Route(Plan.Stripe[0].Path), channels - Plan.Connections); // the carrier
        return [.. leading, .. Plan.StripeTurns.Select(Route)];
    }

    /// <summary>libvirt VMs: the unix socket the engine transport uses, the same path on both hosts (libvirt's rule).</summary>
    public string LibvirtSocketPath(string id) => Path.Combine(Path.GetFullPath(RunDirectory), $"{Vm.Name}.{id}.libvirt");
    /// <summary>Copy-storage through the engine: where libvirt's destination NBD server listens, the same path on both hosts.</summary>
    public string LibvirtDiskSocketPath(string id) => Path.Combine(Path.GetFullPath(RunDirectory), $"{Vm.Name}.{id}.disks.libvirt");
    /// <summary>How the caller reaches the source agent (<see cref="Remote"/>), with <paramref name="credentials"/> (the caller's).</summary>
    public SessionOptions SourceAgentOptions(SourceAgent remote, HostCredentials credentials) => new()
    {
        Agent = remote.Agent,
        AgentHost = Plan.SourceHost,
        Credentials = credentials,
        SourceAddress = remote.From,
        Network = remote.Network,
        Log = Log,
    };

    public string QmpPath => Launch.RunDirectory.Expand(Vm.Qemu!.Qmp, RunDirectory);
}
