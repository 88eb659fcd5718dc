using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.Core.Planning;

/// <summary>
/// Plans the emptying of a host: a destination for each of its VMs and the order and times of the moves.
/// <list type="bullet">
/// <item>Placement, largest VM first: a host of the same cluster, not in maintenance (and among the given destinations),
/// with room left for the VM after the VMs it has and those already placed there (<c>memoryMiB</c> less
/// <c>reservedMemoryMiB</c>; a host that declares no memory is not checked, and the plan says so), to which
/// <see cref="MigrationPlanner"/> finds a path. Of those, the fastest path; then the most room left (the load
/// spreads); then the name.</item>
/// <item>Schedule, in that order: a move starts once fewer than the source's <c>maxConcurrentOutgoing</c> are running,
/// and fewer than the destination cluster's <c>maxConcurrentIncoming</c> go to that host. A move takes one copy of its
/// memory over its planned bandwidth, shared with the moves running beside it over the same source interface, plus the
/// set-up.</item>
/// </list>
/// </summary>
public static class DrainPlanner
{
    /// <summary>What starting a move costs besides the copy: the twin's start, the sessions, the switch-over.</summary>
    public const double SetupSeconds = 2;

    /// <param name="destinations">Only these hosts take VMs; null: every host that can.</param>
    public static DrainPlan Plan(MigrationInventory inventory, string hostName, IReadOnlyList<string>? destinations = null, PlanOverrides? overrides = null)
    {
        var names = MigrationInventory.NameComparer;
        var source = inventory.Host(hostName);
        var allowed = destinations?.Select(d => inventory.Host(d).Name).ToHashSet(names); // unknown names fail here, with a did-you-mean
        var reasons = new List<string>();
        var targets = new List<MigrationHost>();
        foreach (var host in inventory.Hosts.Where(h => h != source))
        {
            var refusal = allowed is not null && !allowed.Contains(host.Name) ? "not among the destinations asked for"
                : !names.Equals(host.Cluster, source.Cluster) ? $"in cluster '{host.Cluster}', not {source.Name}'s '{source.Cluster}'"
                : host.MaintenanceAt is { } at ? $"in maintenance ({at})"
                : null;
            if (refusal is null) targets.Add(host);
            else reasons.Add($"{host.Name} takes no VM: {refusal}.");
        }
        foreach (var host in targets.Where(h => h.MemoryMiB is null))
            reasons.Add($"{host.Name} declares no memoryMiB: what fits there is not checked.");

        var free = targets.ToDictionary(h => h.Name, h => FreeMiB(inventory, h), names);
        var placed = new List<MigrationPlan>();
        var unplaced = new List<UnplacedVm>();
        foreach (var vm in inventory.Vms.Where(v => names.Equals(v.Host, source.Name)).OrderByDescending(v => v.MemoryMiB).ThenBy(v => v.Name, names))
        {
            var options = new List<MigrationPlan>();
            var problems = new List<string>();
            foreach (var host in targets)
            {
                if (free[host.Name] is { } room && room < vm.MemoryMiB)
                {
                    problems.Add($"{host.Name} has {room} MiB left, {vm.Name} needs {vm.MemoryMiB} MiB");
                    continue;
                }
                try
                {
                    options.Add(MigrationPlanner.Plan(inventory, vm.Name, host.Name, null, overrides));
                }
                catch (MigrationException e)
                {
                    problems.Add($"{host.Name}: {e.Message}");
                }
            }
            if (options.Count == 0)
            {
                var why = targets.Count == 0 ? "no host of its cluster can take VMs" : string.Join("; ", problems);
                unplaced.Add(new UnplacedVm(vm.Name, vm.MemoryMiB, $"no destination can take it: {why}"));
                continue;
            }
            var chosen = options
                .OrderByDescending(p => p.BandwidthGbps)
                .ThenByDescending(p => free[p.DestinationHost] ?? long.MaxValue)
                .ThenBy(p => placed.Count(q => names.Equals(q.DestinationHost, p.DestinationHost)))
                .ThenBy(p => p.DestinationHost, names)
                .First();
            if (free[chosen.DestinationHost] is { } left) free[chosen.DestinationHost] = left - vm.MemoryMiB;
            var others = options.Where(o => o != chosen).Select(o => $"{o.DestinationHost} ({InterfaceBandwidth.Gbps(o.BandwidthGbps)})").ToList();
            placed.Add(chosen with
            {
                Reasons = chosen.Reasons.Prepend($"Drain of {source.Name}: {chosen.DestinationHost} takes {vm.Name} ({vm.MemoryMiB} MiB): the fastest path " +
                    $"({InterfaceBandwidth.Gbps(chosen.BandwidthGbps)}){(free[chosen.DestinationHost] is { } after ? $", {after} MiB left there after it" : "")}" +
                    (others.Count > 0 ? $"; also possible: {string.Join(", ", others)}" : "") +
                    (problems.Count > 0 ? $"; not: {string.Join("; ", problems)}" : "") + ".").ToList(),
            });
        }

        var outgoing = placed.Select(p => p.MaxConcurrentOutgoing).Where(n => n is not null).Min();
        var incoming = placed.GroupBy(p => p.DestinationHost, names).Select(g => (Host: g.Key, Limit: g.First().MaxConcurrentIncoming)).ToList();
        var scheduled = Schedule(inventory, placed, outgoing);
        reasons.Add($"Moves start largest VM first, {(outgoing is { } n ? $"at most {n} at once from {source.Name} (maxConcurrentOutgoing)" : "all at once")}" +
                    string.Concat(incoming.Where(i => i.Limit is not null).Select(i => $", at most {i.Limit} at once into {i.Host} (maxConcurrentIncoming)")) + "; each is predicted as one copy of its memory over its planned bandwidth, shared with the moves " +
                    $"running beside it over the same interface, plus {SetupSeconds:0} s to set up (a guest that dirties memory takes longer).");
        return new DrainPlan
        {
            Host = source.Name,
            Plans = scheduled,
            Unplaced = unplaced,
            PredictedSeconds = scheduled.Count == 0 ? 0 : Math.Round(scheduled.Max(p => p.StartsAtSeconds!.Value + p.PredictedSeconds!.Value), 1),
            MaxConcurrentOutgoing = outgoing,
            Reasons = reasons,
            InventoryPath = inventory.Path,
        };
    }

    /// <summary>The memory a host has left for VMs: what it declares, less its reserve and the VMs it has; null when it declares none.</summary>
    public static long? FreeMiB(MigrationInventory inventory, MigrationHost host) =>
        host.MemoryMiB is { } total
            ? total - host.ReservedMemoryMiB - inventory.Vms.Where(v => MigrationInventory.NameComparer.Equals(v.Host, host.Name)).Sum(v => v.MemoryMiB)
            : null;

    /// <summary>Starts each move, in order, as soon as the limits let it, and predicts its time with the source interface
    /// shared by the moves running beside it over it.</summary>
    private static List<MigrationPlan> Schedule(MigrationInventory inventory, IReadOnlyList<MigrationPlan> moves, int? outgoing)
    {
        var running = new List<(double End, string Destination, string Interface)>();
        var scheduled = new List<MigrationPlan>();
        var clock = 0.0;
        foreach (var (move, index) in moves.Select((m, i) => (m, i)))
        {
            var into = move.MaxConcurrentIncoming;
            while (true)
            {
                running.RemoveAll(r => r.End <= clock);
                var arriving = running.Count(r => MigrationInventory.NameComparer.Equals(r.Destination, move.DestinationHost));
                if ((outgoing is not { } o || running.Count < o) && (into is not { } i || arriving < i)) break;
                clock = running.Min(r => r.End); // the next move to end frees a place
            }
            var sharing = running.Count(r => r.Interface == move.SourceInterface) + 1; // moves over one NIC share its bandwidth
            var seconds = SetupSeconds + TransferTime.Seconds(inventory.Vm(move.Vm).MemoryMiB, move.BandwidthGbps) * sharing;
            running.Add((clock + seconds, move.DestinationHost, move.SourceInterface));
            scheduled.Add(move with { Order = index + 1, StartsAtSeconds = Math.Round(clock, 1), PredictedSeconds = Math.Round(seconds, 1) });
        }
        return scheduled;
    }
}
