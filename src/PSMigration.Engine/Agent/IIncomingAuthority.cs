using System.Net;

namespace PSMigration.Engine.Agent;

/// <summary>What the agent may receive, and for whom.</summary>
public enum IncomingKind
{
    /// <summary>A QEMU twin the agent starts (<c>PrepareIncoming</c>).</summary>
    QemuTwin,
    /// <summary>A relay to the QEMU libvirt starts (<c>PrepareRelay</c>).</summary>
    LibvirtRelay,
}

/// <summary>
/// Who may move which VM to this host: the host's own answer (its inventory), asked before any twin starts or any relay
/// is held, and told when a VM has arrived so the host's records follow it. The engine only asks; it reads no inventory.
/// A certificate names a host; a host may ask only for the VMs that it holds.
/// </summary>
public interface IIncomingAuthority
{
    /// <summary>Null when <paramref name="sourceHost"/> may move <paramref name="vm"/> here this way; else why not, in words.</summary>
    string? Refusal(string vm, string sourceHost, IncomingKind kind);

    /// <summary>Null when <paramref name="address"/> is one of <paramref name="host"/>'s (a connection that comes back on
    /// another network must come from the same host); else why not, in words.</summary>
    string? AddressRefusal(string host, IPAddress address);

    /// <summary><paramref name="vm"/> has arrived from <paramref name="sourceHost"/> and runs here now. Returns what was
    /// recorded, or why nothing could be (the VM runs either way).</summary>
    string Arrived(string vm, string sourceHost);
}
