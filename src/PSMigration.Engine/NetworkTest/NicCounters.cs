namespace PSMigration.Engine.NetworkTest;

/// <summary>
/// Bytes sent per network interface of this machine, from <c>/sys/class/net/*/statistics/tx_bytes</c>.
/// Bond members are left out (their bond counts the same bytes), so the carrier of a transfer over a
/// bond is the bond. Two snapshots around a transfer say which interface really carried it.
/// </summary>
internal sealed class NicCounters
{
    private const string Root = "/sys/class/net";
    private readonly IReadOnlyDictionary<string, long> sent;

    private NicCounters(IReadOnlyDictionary<string, long> sent) => this.sent = sent;

    public static NicCounters Snapshot()
    {
        var sent = new Dictionary<string, long>(StringComparer.Ordinal);
        if (!Directory.Exists(Root)) return new NicCounters(sent);
        foreach (var nic in Directory.EnumerateDirectories(Root))
        {
            if (Path.Exists(Path.Combine(nic, "master"))) continue; // a bond member (master links to its bond)
            var counter = Path.Combine(nic, "statistics", "tx_bytes");
            if (File.Exists(counter) && long.TryParse(File.ReadAllText(counter).Trim(), out var bytes))
                sent[Path.GetFileName(nic)] = bytes;
        }
        return new NicCounters(sent);
    }

    /// <summary>The interface that sent the most since <paramref name="before"/>, and its share of all bytes sent.</summary>
    public static (string Interface, double Share)? Carrier(NicCounters before, NicCounters after)
    {
        var deltas = after.sent
            .Select(kv => (Name: kv.Key, Bytes: kv.Value - before.sent.GetValueOrDefault(kv.Key, kv.Value)))
            .Where(d => d.Bytes > 0)
            .ToList();
        var total = deltas.Sum(d => d.Bytes);
        if (total == 0) return null;
        var carrier = deltas.MaxBy(d => d.Bytes);
        return (carrier.Name, (double)carrier.Bytes / total);
    }
}
