namespace PSMigration.Engine.Protocol;

/// <summary>What the destination needs to start a VM's incoming twin: the same machine (binary and
/// arguments), the same migration settings as the source, and how the stream arrives.</summary>
public sealed record IncomingRequest
{
    public required string Vm { get; init; }
    /// <summary>A binary name such as <c>qemu-system-x86_64</c>; the agent runs only those it is configured with.</summary>
    public required string Binary { get; init; }
    public required IReadOnlyList<string> Args { get; init; }
    /// <summary>The VM's QMP socket path as the inventory writes it (<c>{runDir}</c> is the agent's run directory).</summary>
    public required string Qmp { get; init; }
    public required MigrationSettings Settings { get; init; }
    /// <summary>"direct": QEMU listens on <see cref="ListenAddress"/>; "engine": on a unix socket the agent relays to.</summary>
    public required string Transport { get; init; }
    public required string ListenAddress { get; init; }
    /// <summary>Direct transport with QEMU's own TLS (tls-creds-x509 from the cluster PKI).</summary>
    public bool Tls { get; init; }
}

/// <summary>The migration capabilities and parameters both QEMUs get, from the plan.</summary>
public sealed record MigrationSettings
{
    public bool Multifd { get; init; }
    /// <summary>multifd-channels (when <see cref="Multifd"/>).</summary>
    public int Channels { get; init; } = 1;
    /// <summary>none, zlib or zstd (multifd-compression), or xbzrle (a capability, without multifd).</summary>
    public string Compression { get; init; } = "none";
    public int DowntimeLimitMs { get; init; } = 300;
    /// <summary>max-bandwidth in bytes per second.</summary>
    public long MaxBandwidth { get; init; }
    public bool Postcopy { get; init; }
}
