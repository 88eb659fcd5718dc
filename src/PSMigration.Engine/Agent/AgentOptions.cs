using System.Net;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Agent;

/// <summary>How a destination agent listens and whom it serves.</summary>
public sealed record AgentOptions
{
    /// <summary>This host's inventory name.</summary>
    public required string HostName { get; init; }
    /// <summary>Every address of the host, at the agent port (port 0 picks one, for tests).</summary>
    public required IReadOnlyList<IPEndPoint> Listen { get; init; }
    public required HostCredentials Credentials { get; init; }
    /// <summary>Source addresses allowed to connect at all, like xend's relocation-hosts-allow.</summary>
    public required IReadOnlyList<IPNetwork> AllowFrom { get; init; }
    /// <summary>How long a new connection may take to say who it is, and a session to bring all its channels.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long a peer may make no progress before it counts as dead.</summary>
    public TimeSpan Stall { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Relay sessions: the local socket a relay target name stands for (null: not served).</summary>
    public Func<string, string?> RelayTargets { get; init; } = _ => null;
    /// <summary>Which host may move which VM here (the host's inventory); asked before every twin, relay lease and check.</summary>
    public required IIncomingAuthority Authority { get; init; }
    /// <summary>Starts incoming VM twins for migrations (null: this agent does not start VMs).</summary>
    public IIncomingVmHost? Incoming { get; init; }
    /// <summary>Runs migrations of this host's VMs for callers on other hosts (null: not served).</summary>
    public IOutgoingMigrations? Outgoing { get; init; }
    /// <summary>Where libvirt's destination QEMUs listen for engine migrations this agent relays to (its run
    /// directory; libvirt uses the source's socket path on both hosts). Null: not served.</summary>
    public string? RelaySocketDirectory { get; init; }
    /// <summary>One line per session, and one per refused connection.</summary>
    public Action<string> Log { get; init; } = _ => { };
}
