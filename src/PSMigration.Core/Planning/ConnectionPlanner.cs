using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Planning;

/// <summary>How many connections a migration uses, and with which multifd-related settings.</summary>
internal sealed record ConnectionDecision(
    bool Parallel, int Connections, CompressionMethod Compression, bool Postcopy, int? MaxConcurrentOutgoing,
    IReadOnlyList<string> Reasons, IReadOnlyList<string> Warnings);

/// <summary>
/// The connection count rules of DESIGN.md: Disabled is one connection; Parallel computes
/// min(floor(Gbps / 10), vCPUs, pinned CPUs), clamps it to [2, maxConnections] and to the hosts'
/// threads; Auto does the same but stays at one connection when the raw count is below 2, or when
/// postcopy or xbzrle need parallel off; Custom takes the given count, lowered to the hosts' threads. A stripe raises the
/// raw count of Auto and Parallel to one connection per network.
/// </summary>
internal static class ConnectionPlanner
{
    /// <summary>Above this many channels QEMU gains little and the hosts pay in threads.</summary>
    private const int ManyConnections = 16;

    /// <param name="stripedNetworks">The networks a stripe may spread the connections over (1: no stripe): Auto and
    /// Parallel open at least one connection per network.</param>
    public static ConnectionDecision Decide(EffectivePolicy policy, VirtualMachine vm, MigrationHost source, MigrationHost destination, double bandwidthGbps,
        int stripedNetworks = 1)
    {
        var reasons = new List<string>();
        var warnings = new List<string>();
        var mode = $"parallel is {Spelling<ParallelMode>.Of(policy.Parallel)} (from {policy.Sources[PolicyKeys.Parallel]})";
        var threads = Math.Min(source.CpuThreads, destination.CpuThreads);

        int connections;
        switch (policy.Parallel)
        {
            case ParallelMode.Disabled:
                reasons.Add($"One connection: {mode}.");
                connections = 1;
                break;
            case ParallelMode.Auto when policy.Postcopy:
                reasons.Add($"One connection: {mode}, and postcopy is on; QEMU cannot run postcopy over multifd, so Auto turns parallel off.");
                connections = 1;
                break;
            case ParallelMode.Auto when policy.Compression == CompressionMethod.Xbzrle:
                reasons.Add($"One connection: {mode}, and xbzrle compression works without parallel only, so Auto turns parallel off.");
                connections = 1;
                break;
            case ParallelMode.Auto or ParallelMode.Parallel:
                var (raw, why) = RawCount(vm, bandwidthGbps);
                if (raw < stripedNetworks) (raw, why) = (stripedNetworks, $"{why}, raised to {stripedNetworks}: one per striped network");
                if (policy.Parallel == ParallelMode.Auto && raw < 2)
                {
                    reasons.Add($"One connection: {mode}, and {why} is below 2, so parallel is off.");
                    connections = 1;
                    break;
                }
                reasons.Add($"{mode}: {why}.");
                connections = Clamp(raw, policy.MaxConnections, threads, source, destination, reasons);
                break;
            case ParallelMode.Custom:
                connections = policy.Connections!.Value;
                reasons.Add($"{connections} connections: {mode}.");
                if (connections > threads)
                {
                    warnings.Add($"connections lowered from {connections} to {threads}: {ThreadsText(source, destination)}.");
                    connections = threads;
                }
                break;
            default:
                throw new InvalidOperationException($"parallel {policy.Parallel} should have been resolved before planning");
        }

        var parallel = connections > 1 || policy.Parallel is ParallelMode.Parallel or ParallelMode.Custom;
        if (connections > ManyConnections)
            warnings.Add($"{connections} connections is more than {ManyConnections}; each costs a thread on both hosts and gains little beyond that.");

        var compression = policy.Compression;
        if (!parallel && compression is CompressionMethod.Zlib or CompressionMethod.Zstd)
        {
            warnings.Add($"compression {Spelling<CompressionMethod>.Of(compression)} is multifd compression and is ignored: parallel is off.");
            compression = CompressionMethod.None;
        }

        if (parallel)
            reasons.Add("With parallel on, at most one outgoing migration per host at a time (each one uses a thread per connection).");
        // Postcopy is on only where parallel is off: the policy rules and Auto above see to that.
        return new ConnectionDecision(parallel, connections, compression, policy.Postcopy, parallel ? 1 : null, reasons, warnings);
    }

    /// <summary>min(floor(Gbps / 10), vCPUs, pinned CPUs), with its working shown.</summary>
    private static (int Count, string Why) RawCount(VirtualMachine vm, double bandwidthGbps)
    {
        var byLink = (int)Math.Floor(bandwidthGbps / 10);
        var terms = new List<string> { $"floor({InterfaceBandwidth.Gbps(bandwidthGbps)} / 10) = {byLink}", $"{vm.Vcpus} vCPUs" };
        var count = Math.Min(byLink, vm.Vcpus);
        if (vm.PinnedCpus is { } pinned)
        {
            terms.Add($"{pinned} pinned CPUs");
            count = Math.Min(count, pinned);
        }
        return (count, $"min({string.Join(", ", terms)}) = {count}");
    }

    private static int Clamp(int raw, int maxConnections, int threads, MigrationHost source, MigrationHost destination, List<string> reasons)
    {
        var n = raw;
        if (n < 2)
        {
            n = 2;
            reasons.Add($"Raised to 2: parallel needs at least two connections.");
        }
        if (n > maxConnections)
        {
            n = maxConnections;
            reasons.Add($"Capped at maxConnections {maxConnections}.");
        }
        if (n > threads)
        {
            n = threads;
            reasons.Add($"Lowered to {threads}: {ThreadsText(source, destination)}.");
        }
        reasons.Add($"{n} connections.");
        return n;
    }

    private static string ThreadsText(MigrationHost source, MigrationHost destination) =>
        $"{source.Name} has {source.CpuThreads} CPU threads, {destination.Name} {destination.CpuThreads}";
}
