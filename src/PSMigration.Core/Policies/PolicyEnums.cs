using PSMigration.Core.Yaml;

namespace PSMigration.Core.Policies;

/// <summary>How many parallel connections (QEMU multifd channels) a migration uses.</summary>
public enum ParallelMode
{
    /// <summary>VM only: take the cluster's value.</summary>
    Cluster,
    /// <summary>No multifd: one connection.</summary>
    Disabled,
    /// <summary>Computed; parallel is turned off when the link is too slow to gain from it.</summary>
    Auto,
    /// <summary>Computed, and at least two connections.</summary>
    Parallel,
    /// <summary>Exactly <c>connections</c>.</summary>
    Custom,
}

public enum CompressionMethod
{
    [Spelling("none")] None,
    [Spelling("zlib")] Zlib,
    [Spelling("zstd")] Zstd,
    [Spelling("xbzrle")] Xbzrle,
}

public enum MigrationTransport
{
    /// <summary>QEMU to QEMU over the chosen NIC.</summary>
    [Spelling("direct")] Direct,
    /// <summary>Through the module's multifd transfer engine and the destination agent.</summary>
    [Spelling("engine")] Engine,
}

public enum EncryptionMode
{
    [Spelling("none")] None,
    [Spelling("tls")] Tls,
}

/// <summary>What a migration does when it has not converged in time (its timeout, or no progress for progressTimeout).</summary>
public enum TimeoutAction
{
    /// <summary>Cancel it: the VM runs on at the source (no host emptied, nothing risked).</summary>
    [Spelling("cancel")] Cancel,
    /// <summary>Switch to post-copy: the VM runs at the destination at once and fetches the rest; from then on the
    /// source can no longer resume it (needs postcopy: true).</summary>
    [Spelling("postcopy")] Postcopy,
    /// <summary>Pause the guest's vCPUs at the source so nothing more is dirtied, and finish: a longer downtime for a
    /// certain end.</summary>
    [Spelling("pause")] Pause,
}

/// <summary>Where a VM's disks are during a migration.</summary>
public enum StorageMode
{
    /// <summary>On storage both hosts see: only memory moves.</summary>
    [Spelling("shared")] Shared,
    /// <summary>On the source host's own disks: every writable local disk is copied (an NBD mirror) before memory moves.</summary>
    [Spelling("copy")] Copy,
}
