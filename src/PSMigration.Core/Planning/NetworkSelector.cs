using System.Net;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Planning;

/// <summary>One side of a network path: the interface and address a host uses on a network.</summary>
public sealed record Endpoint(MigrationHost Host, HostInterface Interface, IPAddress Address)
{
    public double BandwidthGbps => InterfaceBandwidth.Of(Interface);
    public override string ToString() => $"{Host.Name} {InterfaceBandwidth.Describe(Interface)}";
}

/// <summary>A network both hosts are on, with both ends and the slower end's bandwidth.</summary>
public sealed record SharedNetwork(MigrationNetwork Network, Endpoint Source, Endpoint Destination, double BandwidthGbps)
{
    /// <summary>A warning when the two ends disagree on MTU, else null.</summary>
    public string? MtuWarning => Source.Interface.Mtu == Destination.Interface.Mtu ? null :
        $"MTU differs on '{Network.Name}': {Source.Host.Name} {Source.Interface.Name} has {Source.Interface.Mtu}, " +
        $"{Destination.Host.Name} {Destination.Interface.Name} has {Destination.Interface.Mtu}; large frames will be fragmented or dropped.";
}

/// <summary>The network picked for a migration, its two ends, and the explanation; with every shared network (inventory
/// order) and those open to migrations in the selector's order of preference, for the failover paths.</summary>
internal sealed record NetworkChoice(
    MigrationNetwork Network, Endpoint Source, Endpoint Destination, double BandwidthGbps,
    IReadOnlyList<string> Reasons, IReadOnlyList<string> Warnings, IReadOnlyList<RejectedNetwork> Rejected,
    IReadOnlyList<SharedNetwork> Shared, IReadOnlyList<SharedNetwork> Preferred);

/// <summary>
/// Picks the network a migration from S to D goes over (DESIGN.md "Planning rules", 1 to 6):
/// shared networks only; an explicit network (or the first of the policy's networks) wins; else the
/// migration network with the lowest priority number (tie: faster); else the fastest network open to
/// migrations; storage and cluster networks never silently. Every other network gets the reason it lost.
/// </summary>
internal static class NetworkSelector
{
    private sealed record Candidate(MigrationNetwork Network, int Order, Endpoint Source, Endpoint Destination)
    {
        public double BandwidthGbps => Math.Min(Source.BandwidthGbps, Destination.BandwidthGbps);
        public string Speed => InterfaceBandwidth.Gbps(BandwidthGbps);
        public SharedNetwork ToShared() => new(Network, Source, Destination, BandwidthGbps);
    }

    /// <summary>Rule 1 alone: every network both hosts are on (up), whatever its role, with both ends (what
    /// <c>Test-MigrationNetwork</c> measures); why each other network is not shared; and the shared ones open to migrations,
    /// in the order of preference (rules 3 and 4: where a resilient network test carries on when the network it measures
    /// fails, as a migration's failover does without <c>networks</c>).</summary>
    public static (IReadOnlyList<SharedNetwork> Shared, IReadOnlyList<RejectedNetwork> NotShared, IReadOnlyList<SharedNetwork> Open) Shared(
        MigrationInventory inventory, MigrationHost source, MigrationHost destination)
    {
        var (shared, rejected) = Share(inventory, source, destination);
        return (shared.Select(c => c.ToShared()).ToList(), rejected, Preferred(shared).Select(c => c.ToShared()).ToList());
    }

    /// <param name="request">The network to use (by name, or the policy's first), or null to choose.</param>
    public static NetworkChoice Select(MigrationInventory inventory, MigrationHost source, MigrationHost destination, NetworkRequest? request)
    {
        var (shared, rejected) = Share(inventory, source, destination);

        var reasons = new List<string>
        {
            shared.Count == 0
                ? $"{source.Name} and {destination.Name} share no network."
                : $"{source.Name} and {destination.Name} share {Count(shared.Count, "network")}: {string.Join(", ", shared.Select(c => c.Network.Name))}.",
        };
        var warnings = new List<string>();

        var preferred = Preferred(shared);
        var chosen = request is not null
            ? Requested(inventory, request, shared, rejected, source, destination, reasons, warnings)
            : Best(preferred, reasons);
        if (chosen is null) throw NoCandidate(source, destination, shared, rejected);

        foreach (var other in shared.Where(c => c != chosen))
            rejected.Add(new RejectedNetwork(other.Network.Name, WhyNot(other, chosen, request)));
        var order = inventory.Networks.Select((n, i) => (n.Name, i)).ToDictionary(x => x.Name, x => x.i);
        rejected.Sort((a, b) => order[a.Network].CompareTo(order[b.Network]));

        reasons.Add($"Bandwidth {chosen.Speed}: the slower end of {chosen.Source} and {chosen.Destination}.");
        if (chosen.ToShared().MtuWarning is { } mtu)
            warnings.Add(mtu);
        return new NetworkChoice(chosen.Network, chosen.Source, chosen.Destination, chosen.BandwidthGbps, reasons, warnings, rejected,
            shared.Select(c => c.ToShared()).ToList(), preferred.Select(c => c.ToShared()).ToList());
    }

    private static (List<Candidate> Shared, List<RejectedNetwork> Rejected) Share(
        MigrationInventory inventory, MigrationHost source, MigrationHost destination)
    {
        var rejected = new List<RejectedNetwork>();
        var shared = new List<Candidate>();
        foreach (var (network, index) in inventory.Networks.Select((n, i) => (n, i)))
        {
            Endpoint? d = null;
            var why = Attach(source, network, out var s) ?? Attach(destination, network, out d);
            if (why is not null) rejected.Add(new RejectedNetwork(network.Name, why));
            else shared.Add(new Candidate(network, index, s!, d!));
        }
        return (shared, rejected);
    }

    /// <summary>Rule 1: the host's fastest up interface with an address in the network; else why not.
    /// Plain loops: this runs for every network of every plan.</summary>
    private static string? Attach(MigrationHost host, MigrationNetwork network, out Endpoint? endpoint)
    {
        endpoint = null;
        List<string>? down = null;
        foreach (var nic in host.Interfaces)
        foreach (var address in nic.Addresses)
        {
            if (!network.Cidr.Contains(address.Address)) continue;
            if (!nic.IsUp) (down ??= new List<string>()).Add(nic.Name);
            else if (endpoint is null || InterfaceBandwidth.Of(nic) > endpoint.BandwidthGbps) endpoint = new Endpoint(host, nic, address.Address);
        }
        if (endpoint is not null) return null;
        return down is null
            ? $"not on {host.Name}: no interface has an address in {network.Cidr}"
            : $"interface {string.Join(", ", down.Distinct())} on {host.Name} is down";
    }

    /// <summary>Rule 2: an explicit network wins, when both hosts are on it.</summary>
    private static Candidate Requested(MigrationInventory inventory, NetworkRequest request, List<Candidate> shared, List<RejectedNetwork> rejected,
        MigrationHost source, MigrationHost destination, List<string> reasons, List<string> warnings)
    {
        var network = inventory.Network(request.Name);
        var chosen = shared.FirstOrDefault(c => c.Network == network);
        if (chosen is null)
        {
            var why = rejected.First(r => r.Network == network.Name).Reason;
            throw new PlanningException("NetworkNotShared",
                $"{request.Subject} cannot carry a migration from {source.Name} to {destination.Name}: {why}", request.Name);
        }
        reasons.Add($"Chose '{request.Name}': {request.Why}.");
        if (ClosedWarning(network) is { } closed) warnings.Add(closed);
        return chosen;
    }

    /// <summary>The warning for a network closed to migrations that carries one anyway, because it was named (-Network, or the
    /// policy's networks); null for a network open to migrations.</summary>
    public static string? ClosedWarning(MigrationNetwork network) => network.MigrationAllowed ? null :
        $"'{network.Name}' is a {network.RoleName} network that is closed to migrations unless requested; " +
        $"migration traffic will compete with its {network.RoleName} traffic.";

    /// <summary>Rules 3 and 4 as one order of preference: the open migration networks by priority number (tie: faster),
    /// then the other networks open to migrations, fastest first (tie: priority number); then inventory order. Storage and
    /// cluster networks without allowMigration: true are not in it.</summary>
    private static List<Candidate> Preferred(List<Candidate> shared) => shared
        .Where(c => c.Network.MigrationAllowed)
        .OrderBy(c => c.Network.Role == NetworkRole.Migration ? 0 : 1)
        .ThenBy(c => c.Network.Role == NetworkRole.Migration ? c.Network.Priority : 0)
        .ThenByDescending(c => c.BandwidthGbps)
        .ThenBy(c => c.Network.Priority)
        .ThenBy(c => c.Order)
        .ToList();

    /// <summary>Rules 3 and 4: the first in the order of preference, and why.</summary>
    private static Candidate? Best(List<Candidate> preferred, List<string> reasons)
    {
        if (preferred.FirstOrDefault() is not { } best) return null;
        reasons.Add(best.Network.Role == NetworkRole.Migration
            ? $"Chose '{best.Network.Name}': the shared migration network with the lowest priority number ({best.Network.Priority})."
            : $"Chose '{best.Network.Name}' ({best.Network.RoleName}): no shared migration network, and it is the " +
              $"fastest shared network open to migrations ({best.Speed}).");
        return best;
    }

    private static string WhyNot(Candidate other, Candidate chosen, NetworkRequest? request)
    {
        var net = other.Network;
        if (request is { ListedIn: { } listedIn }) return $"{PolicyKeys.Networks} (from {listedIn}) puts '{chosen.Network.Name}' first";
        if (request is not null) return $"not requested ('{chosen.Network.Name}' was asked for by name)";
        if (!net.MigrationAllowed)
            return net.AllowMigration == false
                ? "allowMigration is false"
                : $"{net.RoleName} network: used for migrations only with allowMigration: true";
        if (chosen.Network.Role == NetworkRole.Migration && net.Role != NetworkRole.Migration)
            return $"{net.RoleName} network; the migration network '{chosen.Network.Name}' is preferred";
        if (chosen.Network.Role == NetworkRole.Migration && net.Priority != chosen.Network.Priority)
            return $"lower priority: {net.Priority}, '{chosen.Network.Name}' has {chosen.Network.Priority}";
        if (other.BandwidthGbps < chosen.BandwidthGbps)
            return $"slower: {other.Speed}, '{chosen.Network.Name}' has {chosen.Speed}";
        return $"as good as '{chosen.Network.Name}', which comes first in the inventory";
    }

    /// <summary>Rule 5: no candidate, so say what every network lacked.</summary>
    private static PlanningException NoCandidate(MigrationHost source, MigrationHost destination, List<Candidate> shared, List<RejectedNetwork> rejected)
    {
        var lines = rejected.Concat(shared.Select(c => new RejectedNetwork(c.Network.Name, WhyNot(c, c, request: null))))
            .Select(r => $"  {r.Network}: {r.Reason}");
        return new PlanningException("NoMigrationNetwork",
            $"No network can carry a migration from {source.Name} to {destination.Name}:{Environment.NewLine}" +
            string.Join(Environment.NewLine, lines) + Environment.NewLine +
            "Put both hosts on a migration network, or pass -Network to use one of the shared networks anyway.",
            $"{source.Name}->{destination.Name}");
    }

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}
