using System.Net;
using System.Collections.Concurrent;
using PSMigration.Engine.Agent;

namespace PSMigration.Engine.Tests;

/// <summary>An agent's answer on who holds which VM, as its inventory would give it: every VM is <paramref name="holder"/>'s,
/// and every host has the <see cref="Addresses"/>. Records the arrivals it is told of.</summary>
internal sealed class TestAuthority(string holder) : IIncomingAuthority
{
    /// <summary>The addresses of every host; null: any loopback address.</summary>
    public IReadOnlyList<IPAddress>? Addresses { get; set; }

    public string? AddressRefusal(string host, IPAddress address) =>
        (Addresses?.Contains(address) ?? IPAddress.IsLoopback(address)) ? null : $"the inventory of dst gives {host} no address {address}";

    public ConcurrentQueue<string> Arrivals { get; } = new();

    public string? Refusal(string vm, string sourceHost, IncomingKind kind) =>
        sourceHost == holder ? null : $"the inventory of dst places {vm} on {holder}, not {sourceHost}";

    public string Arrived(string vm, string sourceHost)
    {
        Arrivals.Enqueue($"{vm} from {sourceHost}");
        return $"recorded {vm} here";
    }
}
