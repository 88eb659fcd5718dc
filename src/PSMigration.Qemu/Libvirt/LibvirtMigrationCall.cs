using System.Globalization;
using PSMigration.Core.Planning;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Qemu.Libvirt;

/// <summary>
/// The one mapping from a plan to libvirt's migration call: virDomainMigrateToURI3's destination,
/// typed parameters and flags, plus the downtime limit (set on the running job). -WhatIf prints it
/// as the C call and as the equivalent <c>virsh migrate</c> command line, from the same values.
/// Always live and peer-to-peer (the source libvirtd drives the destination's); never tunnelled,
/// which libvirt forbids with parallel connections and which would bypass the planned network.
/// </summary>
internal sealed record LibvirtMigrationCall
{
    /// <summary>virDomainMigrateFlags used here: bit, C name, virsh option.</summary>
    private static readonly (uint Bit, string Name, string Virsh)[] KnownFlags =
    [
        (1 << 0, "VIR_MIGRATE_LIVE", "--live"),
        (1 << 1, "VIR_MIGRATE_PEER2PEER", "--p2p"),
        (1 << 3, "VIR_MIGRATE_PERSIST_DEST", "--persistent"),
        (1 << 4, "VIR_MIGRATE_UNDEFINE_SOURCE", "--undefinesource"),
        (1 << 6, "VIR_MIGRATE_NON_SHARED_DISK", "--copy-storage-all"),
        (1 << 11, "VIR_MIGRATE_COMPRESSED", "--compressed"),
        (1 << 13, "VIR_MIGRATE_AUTO_CONVERGE", "--auto-converge"),
        (1 << 15, "VIR_MIGRATE_POSTCOPY", "--postcopy"),
        (1 << 16, "VIR_MIGRATE_TLS", "--tls"),
        (1 << 17, "VIR_MIGRATE_PARALLEL", "--parallel"),
        (1 << 19, "VIR_MIGRATE_POSTCOPY_RESUME", "--postcopy-resume"),
    ];

    /// <summary>Typed parameters used here and their virsh options.</summary>
    private static readonly Dictionary<string, string> VirshOptions = new()
    {
        ["migrate_uri"] = "--migrateuri",
        ["listen_address"] = "--listen-address",
        ["parallel.connections"] = "--parallel-connections",
        ["tls.destination"] = "--tls-destination",
        ["compression"] = "--comp-methods",
        ["bandwidth"] = "--bandwidth",
        ["migrate_disks"] = "--migrate-disks",
        ["disks_uri"] = "--disks-uri",
        ["bandwidth.postcopy"] = "--postcopy-bandwidth",
    };

    public required string SourceUri { get; init; }
    public required string Domain { get; init; }
    /// <summary>How the source's libvirtd reaches the destination's (dconnuri).</summary>
    public required string DestinationUri { get; init; }
    public required IReadOnlyList<(string Name, object Value)> Parameters { get; init; }
    public required uint Flags { get; init; }
    /// <summary>virDomainMigrateSetMaxDowntime, once the job runs (libvirt has no parameter for it).</summary>
    public required long MaxDowntimeMs { get; init; }

    /// <param name="persistent">A defined domain moves its definition too (defined at the destination, undefined here).</param>
    /// <param name="engineSocket">Engine transport: the unix socket QEMU migrates to, the same path on both hosts; null for direct.</param>
    /// <param name="disks">Copy-storage: the targets (vda) of the disks libvirt copies over NBD before memory; empty: none.</param>
    /// <param name="engineDiskSocket">Engine transport with disks: the unix socket of the destination's NBD server, the same path on both hosts.</param>
    public static LibvirtMigrationCall For(MigrationPlan plan, string domain, string sourceUri, string destinationUri, bool persistent, string? engineSocket,
        IReadOnlyList<string>? disks = null, string? engineDiskSocket = null)
    {
        var flags = Flag("VIR_MIGRATE_LIVE") | Flag("VIR_MIGRATE_PEER2PEER");
        var parameters = new List<(string, object)>();
        if (engineSocket is null)
        {
            parameters.Add(("migrate_uri", $"tcp://{AddressParser.UriHost(plan.DestinationAddress)}"));
            parameters.Add(("listen_address", plan.DestinationAddress.ToString()));
        }
        else
        {
            parameters.Add(("migrate_uri", "unix://" + engineSocket)); // libvirt listens on the same path at the destination
        }
        if (persistent) flags |= Flag("VIR_MIGRATE_PERSIST_DEST") | Flag("VIR_MIGRATE_UNDEFINE_SOURCE");
        if (disks is { Count: > 0 })
        {
            flags |= Flag("VIR_MIGRATE_NON_SHARED_DISK");
            parameters.AddRange(disks.Select(d => ("migrate_disks", (object)d)));
            if (engineDiskSocket is not null) parameters.Add(("disks_uri", "unix://" + engineDiskSocket)); // libvirt's NBD server listens on it at the destination
        }
        if (plan.Parallel)
        {
            flags |= Flag("VIR_MIGRATE_PARALLEL");
            parameters.Add(("parallel.connections", plan.Connections));
        }
        if (plan.Tls && engineSocket is null)
        {
            flags |= Flag("VIR_MIGRATE_TLS");
            parameters.Add(("tls.destination", plan.DestinationHost)); // the name in the destination's certificate
        }
        if (plan.Compression != CompressionMethod.None)
        {
            flags |= Flag("VIR_MIGRATE_COMPRESSED");
            parameters.Add(("compression", Spelling.Of(plan.Compression)));
        }
        if (plan.BandwidthCapGbps is { } cap)
        {
            var mibPerSecond = (long)Math.Max(1, cap * 1e9 / 8 / 1048576);
            parameters.Add(("bandwidth", mibPerSecond));
            if (plan.Postcopy) parameters.Add(("bandwidth.postcopy", mibPerSecond)); // post-copy has a cap of its own (none by default)
        }
        if (plan.Postcopy) flags |= Flag("VIR_MIGRATE_POSTCOPY"); // enabled; switched to only by timeoutAction or -Postcopy
        if (plan.AutoConverge) flags |= Flag("VIR_MIGRATE_AUTO_CONVERGE");
        return new LibvirtMigrationCall
        {
            SourceUri = sourceUri, Domain = domain, DestinationUri = destinationUri,
            Parameters = parameters, Flags = flags, MaxDowntimeMs = plan.MaxDowntimeMs,
        };
    }

    /// <summary>The same call resuming a post-copy that broke (VIR_MIGRATE_POSTCOPY_RESUME): libvirt has the destination listen
    /// again and the source send the rest.</summary>
    public LibvirtMigrationCall Resuming() => this with { Flags = Flags | Flag("VIR_MIGRATE_POSTCOPY") | Flag("VIR_MIGRATE_POSTCOPY_RESUME") };

    public IEnumerable<string> FlagNames => KnownFlags.Where(f => (Flags & f.Bit) != 0).Select(f => f.Name);

    /// <summary>The C call, as -WhatIf shows it.</summary>
    public string Describe() =>
        $"virDomainMigrateToURI3(domain '{Domain}' at {SourceUri}, \"{DestinationUri}\", " +
        $"{{{string.Join(", ", Parameters.Select(p => $"{p.Name}: {Format(p.Value, quote: true)}"))}}}, {string.Join(" | ", FlagNames)}); " +
        $"then virDomainMigrateSetMaxDowntime({MaxDowntimeMs} ms)";

    /// <summary>The same migration with virsh, for a sysadmin to compare or reproduce.</summary>
    public string ToVirsh()
    {
        var words = new List<string> { "virsh", "-c", SourceUri, "migrate" };
        words.AddRange(KnownFlags.Where(f => (Flags & f.Bit) != 0).Select(f => f.Virsh));
        foreach (var group in Parameters.GroupBy(p => p.Name)) // virsh takes a repeated parameter as one comma-separated list
            words.AddRange([VirshOptions[group.Key], string.Join(',', group.Select(p => Format(p.Value, quote: false)))]);
        words.AddRange([Domain, DestinationUri]);
        return string.Join(' ', words) + $" (and virsh migrate-setmaxdowntime {Domain} {MaxDowntimeMs} while it runs)";
    }

    private static uint Flag(string name) => KnownFlags.Single(f => f.Name == name).Bit;

    private static string Format(object value, bool quote) => value switch
    {
        string s => quote ? $"\"{s}\"" : s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };
}
