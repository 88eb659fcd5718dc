using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Operations;

/// <summary>What a front-end took from its user for a drain or a failback (Suspend-/Resume-MigrationHost, psmig host).</summary>
public sealed record HostMoveOptions
{
    public required string PkiDirectory { get; init; }
    /// <summary>This host's run directory: the QMP sockets of the VMs it is the source of.</summary>
    public string RunDirectory { get; init; } = Launch.RunDirectory.Default;
    /// <summary>Each migration's timeout; null for <see cref="MigrationRequest.DefaultTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }
    public IActivityLog Log { get; init; } = SilentLog.Instance;
}

/// <summary>What a drain or a failback did. Property names are the JSON contract: the host, its maintenance as the
/// inventory now says, the VMs moved and those that failed or were cancelled (they run where they were), the VMs it
/// leaves to do (a drain: those still on the host; a failback: those the drain record still lists), and every
/// migration's result.</summary>
public sealed record DrainSummary
{
    public required string Host { get; init; }
    public bool Maintenance { get; init; }
    public required TextList<string> Moved { get; init; }
    public required TextList<string> Failed { get; init; }
    public required TextList<string> Remaining { get; init; }
    public required TextList<MigrationResult> Results { get; init; }
    /// <summary>What was not attempted and why (a VM no host can take; a drained VM moved elsewhere since).</summary>
    public required TextList<string> Notes { get; init; }
    public string? InventoryPath { get; init; }

    /// <summary>A drain leaves nothing on the host; a failback leaves nothing in the record.</summary>
    public bool Done => Remaining.Count == 0;

    public override string ToString() =>
        $"{Host}: {(Maintenance ? "in maintenance" : "out of maintenance")}; moved {Moved.Count}" +
        (Failed.Count > 0 ? $", failed {Failed.Count} ({Failed})" : "") + (Remaining.Count > 0 ? $", remaining {Remaining.Count} ({Remaining})" : "");
}

/// <summary>
/// The moves of a host's maintenance, planned: a drain (<see cref="Drain"/>: every VM off the host, as
/// <see cref="DrainPlanner"/> places them) or a failback (<see cref="Failback"/>: the VMs the drain record lists back to
/// the host, those still where the drain put them). <see cref="RunAsync"/> sets the host's maintenance first (a drain:
/// on, so nothing is planned to it meanwhile; a failback: off, so it can take VMs), then runs the moves as one batch
/// (each source's maxConcurrentOutgoing, each destination's maxConcurrentIncoming, in plan order), goes on past a VM
/// that fails, and keeps the drain record in step with the inventory as each move completes. The plan is made once, but
/// other migrations may fill a destination meanwhile: as each move's turn comes, its destination's free memory is read
/// again from the inventory (less the moves already on their way there), and a VM that no longer fits stays where it is
/// (Failed, DestinationFull) rather than overfill the host.
/// </summary>
public sealed class HostMoves
{
    private readonly string path;
    private readonly bool drain;
    private readonly HostMoveOptions options;
    private readonly MigrationInventory inventory;
    /// <summary>A failback's recorded VMs that are no longer the drain's to bring back (moved since, gone, back already):
    /// the run forgets them.</summary>
    private readonly IReadOnlyList<string> stale;
    /// <summary>The VMs on their way (started, not yet over) with where to and their MiB: the inventory shows them there only once they arrive.</summary>
    private readonly Dictionary<string, (string Destination, long MemoryMiB)> onTheWay = new(MigrationInventory.NameComparer);

    private HostMoves(string path, string host, bool drain, HostMoveOptions options, MigrationInventory inventory,
        IReadOnlyList<MigrationPlan> plans, IReadOnlyList<string> notes, DrainPlan? drainPlan, IReadOnlyList<string>? stale = null)
    {
        this.stale = stale ?? [];
        this.path = path;
        Host = host;
        this.drain = drain;
        this.options = options;
        this.inventory = inventory;
        Plans = plans;
        Notes = notes;
        DrainPlan = drainPlan;
    }

    /// <summary>The host, as the inventory names it.</summary>
    public string Host { get; }
    /// <summary>The moves, in the order they start.</summary>
    public IReadOnlyList<MigrationPlan> Plans { get; }
    /// <summary>What will not be attempted and why.</summary>
    public IReadOnlyList<string> Notes { get; }
    /// <summary>A drain's whole plan (placement and schedule, with its reasons); null for a failback.</summary>
    public DrainPlan? DrainPlan { get; }

    /// <param name="destinations">Only these hosts take VMs; null: every host that can.</param>
    public static HostMoves Drain(string path, string host, IReadOnlyList<string>? destinations, HostMoveOptions options)
    {
        var inventory = InventoryLoader.Load(path);
        var plan = DrainPlanner.Plan(inventory, host, destinations);
        return new HostMoves(path, plan.Host, true, options, inventory, plan.Plans,
            plan.Unplaced.Select(u => $"{u.Vm} stays on {plan.Host}: {u.Reason}").ToList(), plan);
    }

    /// <summary>Plans each VM of <paramref name="host"/>'s drain record that is still where the drain put it back to the
    /// host (planned as if the host were out of maintenance, which the run makes it). A recorded VM that has moved
    /// since, or is gone from the inventory, is left where it is and noted.</summary>
    public static HostMoves Failback(string path, string host, HostMoveOptions options)
    {
        var inventory = MaintenanceEditor.Preview(path, host, maintenance: false);
        var name = inventory.Host(host).Name;
        var plans = new List<MigrationPlan>();
        var notes = new List<string>();
        var stale = new List<string>();
        var names = MigrationInventory.NameComparer;
        foreach (var moved in DrainRecord.Read(path, name).Moves)
        {
            var vm = inventory.Vms.FirstOrDefault(v => names.Equals(v.Name, moved.Vm));
            var gone = vm is null ? $"{moved.Vm} is no longer in the inventory"
                : names.Equals(vm.Host, name) ? $"{vm.Name} is on {name} already"
                : !names.Equals(vm.Host, moved.Destination) ? $"{vm.Name} stays on {vm.Host}: it has moved since the drain put it on {moved.Destination}"
                : null;
            if (gone is not null)
            {
                notes.Add($"{gone}; the drain record forgets it.");
                stale.Add(moved.Vm);
            }
            else
            {
                try
                {
                    plans.Add(MigrationPlanner.Plan(inventory, vm!.Name, name)); // not null: gone is null
                }
                catch (MigrationException e)
                {
                    notes.Add($"{vm!.Name} stays on {vm.Host}: {e.Message}.");
                }
            }
        }
        if (plans.Count == 0 && notes.Count == 0) notes.Add($"No drain of {name} has moved a VM that is not back yet: nothing to bring back.");
        return new HostMoves(path, name, false, options, inventory, plans, notes, null, stale);
    }

    /// <summary>What running would do, step by step: for -WhatIf and the confirmation.</summary>
    public string Describe()
    {
        var writer = new StringWriter();
        if (DrainPlan is { } plan) DrainText.Write(plan, writer);
        else
        {
            writer.WriteLine($"failback to {Host}: {Plans.Count} move(s)");
            foreach (var (move, index) in Plans.Select((p, i) => (p, i + 1)))
                writer.WriteLine($"  {index,2}. {move.Vm}: {move.SourceHost} -> {Host} over '{move.Network}' ({InterfaceBandwidth.Gbps(move.BandwidthGbps)})");
            foreach (var note in Notes) writer.WriteLine($"  {note}");
        }
        return writer.ToString().TrimEnd();
    }

    /// <param name="progressOf">The progress sink of the move at an index of <see cref="Plans"/> (called as it starts).</param>
    /// <param name="finished">Told each migration's result as it comes (the drain record is up to date by then).</param>
    /// <param name="log">Instead of the options' log (a background job keeps its own).</param>
    public async Task<DrainSummary> RunAsync(Func<MigrationRequest, int, IProgress<MigrationProgress>?> progressOf,
        Action<MigrationResult>? finished, CancellationToken cancel, IActivityLog? log = null)
    {
        log ??= options.Log;
        var requests = Plans.Select(plan => MigrationRequest.For(inventory, plan, options.PkiDirectory) with
        {
            RunDirectory = options.RunDirectory,
            Timeout = options.Timeout,
            Log = log,
        }).ToList();
        // The credentials, and whether this machine can run each move (here or through its source's agent), before
        // anything changes: a drain that cannot start leaves the inventory and the drain record as they were.
        using var launch = requests.Count > 0 ? new MigrationLaunch(requests) : null;
        if (MaintenanceEditor.Set(path, Host, maintenance: drain, write: true).Changed)
            log.Verbose($"{path}: {Host} {(drain ? "is in maintenance (maintenance: true): no VM is planned to it" : "is out of maintenance: it takes VMs again")}.");
        foreach (var note in Notes) log.Verbose(note);
        var problems = new List<string>();
        foreach (var vm in stale) Record(vm, null, problems, log);
        IReadOnlyList<MigrationResult> results = launch is null ? [] : await launch.RunAsync(progressOf, result =>
        {
            if (result.Succeeded) Record(result.Vm, drain ? result.DestinationHost : null, problems, log);
            Arrived(result);
            finished?.Invoke(result);
        }, cancel, log, Admit);
        return Summary(results, problems);
    }

    /// <summary>Whether the move's destination still has room for its VM now, counting the moves on their way there;
    /// if so, the VM counts as on its way from now on.</summary>
    private Exception? Admit(MigrationRequest request)
    {
        var destination = request.Plan.DestinationHost;
        MigrationHost host;
        long? free;
        try
        {
            var now = InventoryLoader.Load(path);
            host = now.Host(destination);
            free = DrainPlanner.FreeMiB(now, host);
        }
        catch (MigrationException e)
        {
            return e;
        }
        lock (onTheWay)
        {
            var arriving = onTheWay.Values.Where(w => MigrationInventory.NameComparer.Equals(w.Destination, destination)).Sum(w => w.MemoryMiB);
            if (free is { } room && room - arriving < request.Vm.MemoryMiB)
                return new MigrationException("DestinationFull", FailureKind.OperationFailed,
                    $"{request.Vm.Name} stays on {request.Plan.SourceHost}: {destination} has {room - arriving} MiB left now " +
                    $"({host.MemoryMiB} MiB, {host.ReservedMemoryMiB} reserved, the rest taken by its VMs{(arriving > 0 ? $" and {arriving} MiB arriving" : "")}), " +
                    $"{request.Vm.Name} needs {request.Vm.MemoryMiB} MiB: other VMs arrived there after the plan was made", request.Vm.Name);
            onTheWay[request.Vm.Name] = (destination, request.Vm.MemoryMiB);
            return null;
        }
    }

    /// <summary>A move is over: its VM is no longer on its way (the inventory shows it there if it arrived).</summary>
    private void Arrived(MigrationResult result)
    {
        lock (onTheWay) onTheWay.Remove(result.Vm);
    }

    /// <summary>The drain record in step with a move that completed: a drain adds the VM with its destination, a
    /// failback forgets it. A failure here is told, not thrown: the VM has moved and the inventory says so.</summary>
    private void Record(string vm, string? destination, List<string> problems, IActivityLog log)
    {
        try
        {
            if (destination is not null) DrainRecord.Add(path, Host, vm, destination);
            else DrainRecord.Remove(path, Host, vm);
        }
        catch (MigrationException e)
        {
            log.Verbose($"{vm}: {e.Message}");
            lock (problems) problems.Add($"{vm}: {e.Message}");
        }
    }

    private DrainSummary Summary(IReadOnlyList<MigrationResult> results, IReadOnlyList<string> problems)
    {
        var now = InventoryLoader.Load(path);
        var names = MigrationInventory.NameComparer;
        var remaining = drain
            ? now.Vms.Where(v => names.Equals(v.Host, Host)).Select(v => v.Name)
            : DrainRecord.Read(path, Host).Moves.Where(m => now.Vms.Any(v => names.Equals(v.Name, m.Vm) && names.Equals(v.Host, m.Destination))).Select(m => m.Vm);
        return new DrainSummary
        {
            Host = Host,
            Maintenance = now.Host(Host).InMaintenance,
            Moved = results.Where(r => r.Succeeded).Select(r => r.Vm).ToTextList(),
            Failed = results.Where(r => !r.Succeeded).Select(r => r.Vm).ToTextList(),
            Remaining = remaining.ToTextList(),
            Results = results.ToTextList(),
            Notes = Notes.Concat(problems).ToTextList(),
            InventoryPath = path,
        };
    }
}
