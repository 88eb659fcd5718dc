using System.Collections.Concurrent;

namespace PSMigration.Engine.Agent;

/// <summary>The VMs committed here in post-copy, and the host each came from: only that host may recover a VM's broken
/// stream (<see cref="RecoveryHandler"/>). Forgotten once the recovery finds all memory arrived.</summary>
internal sealed class PostcopyArrivals
{
    private readonly ConcurrentDictionary<string, string> sources = new(StringComparer.Ordinal);

    public void Add(string vm, string sourceHost) => sources[vm] = sourceHost;

    public void Forget(string vm) => sources.TryRemove(vm, out _);

    /// <summary>Null when <paramref name="sourceHost"/> may recover <paramref name="vm"/>'s post-copy here; else why not.</summary>
    public string? Refusal(string vm, string sourceHost, string hostName) =>
        !sources.TryGetValue(vm, out var from) ? $"no post-copy migration of {vm} has arrived on {hostName} since its agent started"
        : from != sourceHost ? $"{vm}'s post-copy came from {from}, not {sourceHost}"
        : null;
}
