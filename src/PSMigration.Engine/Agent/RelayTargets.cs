using System.Collections.Concurrent;

namespace PSMigration.Engine.Agent;

/// <summary>The local sockets relay sessions may connect to, by name: a twin's incoming socket or libvirt's, held only
/// while its lease lasts and only for the host whose certificate took the lease, and any fixed ones the options name
/// (tests, any host). Nothing else on the host is reachable.</summary>
internal sealed class RelayTargets(Func<string, string?> fixedTargets)
{
    private readonly ConcurrentDictionary<string, (string Path, string Owner)> held = new();

    /// <summary>Makes <paramref name="socketPath"/> reachable under a new name for <paramref name="owner"/>, until <see cref="Release"/>.</summary>
    public string Hold(string socketPath, string owner)
    {
        var name = Guid.NewGuid().ToString("N");
        held[name] = (socketPath, owner);
        return name;
    }

    public void Release(string name) => held.TryRemove(name, out _);

    public int Count => held.Count;

    /// <summary>The socket behind <paramref name="name"/> if <paramref name="host"/> may reach it; else null.</summary>
    public string? Find(string name, string host) =>
        held.TryGetValue(name, out var target) ? (target.Owner == host ? target.Path : null) : fixedTargets(name);

    /// <summary>Why <paramref name="host"/> cannot relay to <paramref name="name"/> (null: it can).</summary>
    public string? Refusal(string? name, string host) =>
        name is null ? "a relay session needs a relay target"
        : held.TryGetValue(name, out var target) && target.Owner != host ? $"relay target '{name}' belongs to {target.Owner}, not {host}"
        : Find(name, host) is null ? $"no relay target '{name}' here"
        : null;
}
