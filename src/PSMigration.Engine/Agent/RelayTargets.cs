using System.Collections.Concurrent;

namespace PSMigration.Engine.Agent;

/// <summary>The local sockets relay sessions may connect to, by name: a twin's incoming socket or libvirt's, held only
/// while its lease lasts, and any fixed ones the options name (tests). Nothing else on the host is reachable.</summary>
internal sealed class RelayTargets(Func<string, string?> fixedTargets)
{
    private readonly ConcurrentDictionary<string, string> held = new();

    /// <summary>Makes <paramref name="socketPath"/> reachable under a new name, until <see cref="Release"/>.</summary>
    public string Hold(string socketPath)
    {
        var name = Guid.NewGuid().ToString("N");
        held[name] = socketPath;
        return name;
    }

    public void Release(string name) => held.TryRemove(name, out _);

    public string? Find(string name) => held.TryGetValue(name, out var path) ? path : fixedTargets(name);
}
