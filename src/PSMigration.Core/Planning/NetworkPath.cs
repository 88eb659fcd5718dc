using System.Net;

namespace PSMigration.Core.Planning;

/// <summary>A network a migration may use, with both ends and the slower end's bandwidth: one of the plan's failover paths.
/// Property names are the JSON contract (camelCased), as in <see cref="MigrationPlan"/>.</summary>
public sealed record NetworkPath(
    string Network, string SourceInterface, IPAddress SourceAddress, string DestinationInterface, IPAddress DestinationAddress, double BandwidthGbps)
{
    internal static NetworkPath Of(SharedNetwork shared) => new(
        shared.Network.Name, shared.Source.Interface.Name, shared.Source.Address,
        shared.Destination.Interface.Name, shared.Destination.Address, shared.BandwidthGbps);

    /// <summary>The network the selector chose, as a path.</summary>
    internal static NetworkPath Of(NetworkChoice choice) => Of(new SharedNetwork(choice.Network, choice.Source, choice.Destination, choice.BandwidthGbps));

    /// <summary>"lan (eth0 10.0.0.1 -> eth0 10.0.0.2, 1 Gbps)".</summary>
    public override string ToString() =>
        $"{Network} ({SourceInterface} {SourceAddress} -> {DestinationInterface} {DestinationAddress}, {InterfaceBandwidth.Gbps(BandwidthGbps)})";
}
