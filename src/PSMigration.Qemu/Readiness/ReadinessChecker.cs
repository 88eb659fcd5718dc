using System.Globalization;
using System.Net;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Engine.Agent;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Security;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Libvirt;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.QemuMigration;
using PSMigration.Qemu.Qmp;
using PSMigration.Qemu.Storage;

namespace PSMigration.Qemu.Readiness;

/// <summary>What to check: a VM of the inventory, the hosts it might go to (null: every other host of its
/// cluster), and this (the source) host's PKI and run directory.</summary>
public sealed record ReadinessRequest
{
    public required MigrationInventory Inventory { get; init; }
    public required string Vm { get; init; }
    public IReadOnlyList<string>? Destinations { get; init; }
    public required string PkiDirectory { get; init; }
    public string RunDirectory { get; init; } = Launch.RunDirectory.Default;
    public IActivityLog Log { get; init; } = SilentLog.Instance;
}

/// <summary>
/// Answers "can this VM move to that host now?" without moving anything (like Hyper-V's Compare-VM or
/// KubeVirt's LiveMigratable): the plan resolves; the destination agent answers over the planned network
/// with the cluster certificates; it would start the VM's QEMU binary and machine type (or the
/// destination's libvirt answers); the destination has the memory free; the VM runs here and answers;
/// the MTU agrees end to end. Run it on the source host. A failed check is a result, never an exception.
/// </summary>
public static class ReadinessChecker
{
    private static readonly TimeSpan QmpTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The hosts a VM may be checked against when none are named: the other hosts of its cluster.</summary>
    public static IReadOnlyList<string> DefaultDestinations(MigrationInventory inventory, string vm)
    {
        var source = inventory.Host(inventory.Vm(vm).Host);
        return inventory.Hosts.Where(h => h != source && h.Cluster == source.Cluster).Select(h => h.Name).ToList();
    }

    public static async Task<IReadOnlyList<MigrationReadiness>> CheckAsync(ReadinessRequest request, IProgress<string>? progress, CancellationToken cancel)
    {
        var vm = request.Inventory.Vm(request.Vm);
        var destinations = request.Destinations ?? DefaultDestinations(request.Inventory, vm.Name);
        var results = new List<MigrationReadiness>();
        Task<SourceRead>? source = null; // the VM is the same for every destination: read (and sampled) once
        foreach (var destination in destinations)
        {
            cancel.ThrowIfCancellationRequested();
            progress?.Report($"{vm.Name} -> {destination}");
            results.Add(await CheckPairAsync(request, vm, destination, migration => source ??= SourceCheckAsync(migration, migration.Plan.CopyStorage, cancel), cancel));
        }
        return results;
    }

    /// <summary>What the source check found: the check, the disks read (copy storage), why they could not be read, and
    /// the guest's dirty rate (MB/s), sampled over the same connection (QMP, or libvirt for a domain) when it runs.</summary>
    private sealed record SourceRead(ReadinessCheck Check, IReadOnlyList<VmDisk> Disks, string? Unread, double? DirtyRate);

    /// <param name="readSource">The source check of the VM (the same for every destination).</param>
    private static async Task<MigrationReadiness> CheckPairAsync(ReadinessRequest request, VirtualMachine vm, string destination,
        Func<MigrationRequest, Task<SourceRead>> readSource, CancellationToken cancel)
    {
        var inventory = request.Inventory;
        var hypervisor = vm.Libvirt is null ? ReadinessCheckNames.Qemu : ReadinessCheckNames.Libvirt;
        MigrationPlan plan;
        try
        {
            plan = MigrationPlanner.Plan(inventory, vm.Name, destination);
        }
        catch (MigrationException e)
        {
            return new MigrationReadiness
            {
                Vm = vm.Name, SourceHost = vm.Host, DestinationHost = destination,
                Checks = [Failed(ReadinessCheckNames.Plan, e.Message), .. NotChecked("a plan", ReadinessCheckNames.Agent, hypervisor,
                    ReadinessCheckNames.Memory, ReadinessCheckNames.Source, ReadinessCheckNames.Mtu)],
            };
        }
        var migration = MigrationRequest.For(inventory, plan, request.PkiDirectory) with { RunDirectory = request.RunDirectory, Log = request.Log };
        var checks = new List<ReadinessCheck>
        {
            new(ReadinessCheckNames.Plan, true, $"over '{plan.Network}' ({plan.SourceInterface} {plan.SourceAddress} -> {plan.DestinationInterface} " +
                $"{plan.DestinationAddress}), {InterfaceBandwidth.Gbps(plan.BandwidthGbps)}, {plan.TransportSummary}"),
        };
        var (source, disks, disksUnread, dirtyRate) = await readSource(migration); // first: the agent's check needs the disks
        var (agent, answer) = await AskAgentAsync(migration, disks.Where(d => d.Copied).ToList(), cancel);
        checks.Add(agent);
        checks.Add(answer is null && vm.Libvirt is null
            ? NotChecked("the agent", hypervisor)[0]
            : vm.Libvirt is null ? QemuCheck(migration, answer!.Answer) : await LibvirtCheckAsync(migration));
        checks.Add(answer is null ? NotChecked("the agent", ReadinessCheckNames.Memory)[0] : MemoryCheck(migration, answer.Answer));
        if (plan.CopyStorage) checks.Add(StorageCheck(migration, disks, disksUnread, answer?.Answer));
        checks.Add(source);
        checks.Add(answer is null ? NotChecked("the agent", ReadinessCheckNames.Mtu)[0] : await MtuCheckAsync(inventory, plan, answer.Answer, cancel));
        if (dirtyRate is { } rate) checks.Add(ConvergenceCheck(migration, rate));
        var result = new MigrationReadiness { Vm = vm.Name, SourceHost = plan.SourceHost, DestinationHost = plan.DestinationHost, Network = plan.Network, Checks = checks };
        foreach (var check in checks) request.Log.Verbose($"Check {vm.Name} -> {plan.DestinationHost}: {check}");
        return result;
    }

    /// <summary>Whether it converges over the planned path as the policy has it (ConvergencePrediction): a guest that
    /// out-dirties the link with no action to finish it would be cancelled at its timeout.</summary>
    private static ReadinessCheck ConvergenceCheck(MigrationRequest migration, double dirtyRateMBps)
    {
        var prediction = ConvergencePrediction.Predict(migration.Vm.MemoryMiB, dirtyRateMBps, migration.Plan.BandwidthGbps, migration.Plan, migration.EffectiveTimeout);
        return new ReadinessCheck(ReadinessCheckNames.Convergence, prediction.Converges, $"{prediction.Reason} ({prediction.Numbers()})");
    }

    /// <summary>What a copy-storage migration would copy, and whether the destination can create it (place, no file there, room).</summary>
    private static ReadinessCheck StorageCheck(MigrationRequest migration, IReadOnlyList<VmDisk> disks, string? unread, IncomingChecked? answer)
    {
        var vm = migration.Vm.Name;
        var copied = disks.Where(d => d.Copied).ToList();
        var leftAlone = disks.Count > copied.Count ? $"; left alone: {string.Join("; ", disks.Where(d => !d.Copied))}" : "";
        if (migration.Vm.Libvirt is not null)
            return new ReadinessCheck(ReadinessCheckNames.Storage, true, $"libvirt copies {vm}'s writable local disks and creates their images in " +
                                                                         $"{migration.Plan.DestinationHost}'s storage pools (or uses images that exist there); it checks the room itself");
        if (unread is not null)
            return Failed(ReadinessCheckNames.Storage, $"cannot read {vm}'s disks ({unread}): run the check on {migration.Plan.SourceHost}, where {vm} runs");
        if (copied.Count == 0) return new ReadinessCheck(ReadinessCheckNames.Storage, true, $"storage: copy, but {vm} has no writable local disk: only its memory moves{leftAlone}");
        if (answer is null) return NotChecked("the agent", ReadinessCheckNames.Storage)[0];
        return answer switch
        {
            { StorageProblem: { } problem } => Failed(ReadinessCheckNames.Storage, problem),
            { Storage: { } created } => new ReadinessCheck(ReadinessCheckNames.Storage, true, $"{migration.Plan.DestinationHost} would create {created}{leftAlone}"),
            _ => Failed(ReadinessCheckNames.Storage, $"{migration.Plan.DestinationHost}'s agent did not say whether it can receive {vm}'s disks (is it older than this psmig?)"),
        };
    }

    private static async Task<(ReadinessCheck Check, AgentCheckResult? Answer)> AskAgentAsync(MigrationRequest migration, IReadOnlyList<VmDisk> copied, CancellationToken cancel)
    {
        var plan = migration.Plan;
        HostCredentials credentials;
        try
        {
            credentials = ClusterPki.Load(migration.PkiDirectory, plan.SourceHost);
        }
        catch (MigrationException e)
        {
            return (Failed(ReadinessCheckNames.Agent, $"{e.Message}. Give this host its certificate: New-MigrationCertificate (psmig cert init), then copy " +
                                                     $"ca.crt, {plan.SourceHost}.crt and {plan.SourceHost}.key to {migration.PkiDirectory}"), null);
        }
        using (credentials)
        {
            var options = migration.SessionOptions(credentials, channels: 1);
            try
            {
                var twin = migration.Vm.Libvirt is null ? QemuMigrationBackend.TwinFor(migration, copied).ToJson() : (System.Text.Json.JsonElement?)null;
                var answer = await AgentCheck.AskAsync(options, migration.Vm.Name, twin, cancel);
                return (new ReadinessCheck(ReadinessCheckNames.Agent, true,
                    $"{options.AgentName} answered over '{plan.Network}' from {plan.SourceAddress} in {answer.RoundTrip.TotalMilliseconds:0} ms, " +
                    "TLS 1.3 with certificates of the cluster CA"), answer);
            }
            catch (MigrationException e) // ChannelException and ProtocolException included
            {
                return (Failed(ReadinessCheckNames.Agent, $"{e.Message}. Is the agent running on {plan.DestinationHost} (systemctl status psmigration-agent), " +
                                                         $"listening on {plan.DestinationAddress}:{plan.DestinationPort}, and does its firewall let {plan.SourceAddress} in?"), null);
            }
        }
    }

    private static ReadinessCheck QemuCheck(MigrationRequest migration, IncomingChecked answer)
    {
        var qemu = migration.Vm.Qemu;
        if (qemu is null)
            return Failed(ReadinessCheckNames.Qemu, $"{migration.Vm.Name} has neither a qemu nor a libvirt section in the inventory: say how it runs");
        var machine = Launch.QemuMachines.Requested(qemu.Args) is { } type ? $"machine type '{type}'" : "QEMU's default machine type";
        return answer.QemuProblem is { } problem
            ? Failed(ReadinessCheckNames.Qemu, problem)
            : new ReadinessCheck(ReadinessCheckNames.Qemu, true, $"{migration.Plan.DestinationHost} would start {qemu.Binary} with {machine} for {migration.Vm.Name}");
    }

    private static async Task<ReadinessCheck> LibvirtCheckAsync(MigrationRequest migration)
    {
        var uri = migration.DestinationLibvirtUri ?? "";
        try
        {
            await Task.Run(() => LibvirtConnection.Open(uri).Dispose());
            return new ReadinessCheck(ReadinessCheckNames.Libvirt, true, $"libvirt at {uri} answers (the source's libvirtd reaches it there)");
        }
        catch (Exception e) when (e is LibvirtException or DllNotFoundException)
        {
            return Failed(ReadinessCheckNames.Libvirt, $"{e.Message}. Check that libvirtd runs on {migration.Plan.DestinationHost} and takes remote connections at {uri} " +
                                                       "(its libvirt.uri in the inventory)");
        }
    }

    private static ReadinessCheck MemoryCheck(MigrationRequest migration, IncomingChecked answer)
    {
        var needed = migration.Vm.MemoryMiB;
        var host = migration.Plan.DestinationHost;
        return answer.MemoryAvailableMiB switch
        {
            null => Failed(ReadinessCheckNames.Memory, $"{host}'s agent does not know how much memory is available there (no /proc/meminfo)"),
            var free when free >= needed => new ReadinessCheck(ReadinessCheckNames.Memory, true, $"{host} has {free} MiB available; {migration.Vm.Name} needs {needed} MiB"),
            var free => Failed(ReadinessCheckNames.Memory, $"{host} has {free} MiB available, but {migration.Vm.Name} needs {needed} MiB: " +
                                                           $"free memory there (move or stop a VM), or choose another destination"),
        };
    }

    /// <param name="readDisks">storage: copy: also the disks the migration would copy, read on the same QMP connection
    /// (<paramref name="readDisks"/> with an unreachable VM: no disks, and why).</param>
    private static async Task<SourceRead> SourceCheckAsync(MigrationRequest migration, bool readDisks, CancellationToken cancel)
    {
        var vm = migration.Vm;
        var here = migration.Plan.SourceHost;
        try
        {
            if (vm.Libvirt is { } libvirt)
            {
                using var connection = await Task.Run(() => LibvirtConnection.Open(libvirt.LocalUri), cancel);
                using var domain = connection.Domain(libvirt.Domain);
                var state = domain.State;
                var checkedState = state is "running" or "paused"
                    ? new ReadinessCheck(ReadinessCheckNames.Source, true, $"domain {libvirt.Domain} is {state} on {here} (libvirt {libvirt.LocalUri})")
                    : Failed(ReadinessCheckNames.Source, $"domain {libvirt.Domain} is {state} on {here}: only a running or paused domain migrates");
                // A domain in a job (migrating) would keep libvirt's calculation waiting for the job.
                var sampled = state == "running" && domain.JobStats() is not { IsActive: true }
                    ? await SampledOrNoneAsync(migration, () => DirtyRate.SampleAsync(domain, vm.Name, cancel))
                    : null;
                return new SourceRead(checkedState, [], null, sampled);
            }
            if (vm.Qemu is null) return new SourceRead(Failed(ReadinessCheckNames.Source, $"{vm.Name} has neither a qemu nor a libvirt section in the inventory"), [], null, null);
            await using var qmp = await QmpClient.ConnectAsync(migration.QmpPath, QmpTimeout, cancel);
            var runState = (await qmp.ExecuteAsync("query-status", null, cancel)).GetProperty("status").GetString();
            var migrating = QemuMigrationStatus.Parse(await qmp.ExecuteAsync("query-migrate", null, cancel));
            var disks = readDisks ? await VmDisk.ReadAsync(qmp, cancel) : [];
            var check = migrating.IsActive ? Failed(ReadinessCheckNames.Source, $"{vm.Name} is migrating already ({migrating.Status}); wait for it to end")
                : runState is "running" or "paused" ? new ReadinessCheck(ReadinessCheckNames.Source, true, $"{vm.Name} is {runState} on {here} and answers on {migration.QmpPath}")
                : Failed(ReadinessCheckNames.Source, $"{vm.Name} is '{runState}' on {here}: only a running or paused VM migrates");
            var dirtyRate = runState == "running" && !migrating.IsActive ? await SampledOrNoneAsync(migration, () => DirtyRate.SampleAsync(qmp, vm.Name, cancel)) : null;
            return new SourceRead(check, disks, null, dirtyRate);
        }
        catch (Exception e) when (e is QmpException or LibvirtException or DllNotFoundException)
        {
            return new SourceRead(Failed(ReadinessCheckNames.Source, $"{e.Message} Run the check on {here}, where the inventory says {vm.Name} runs" +
                                                       (vm.Qemu is not null ? $", with the run directory it was started with (now {migration.RunDirectory})" : "")), [], e.Message, null);
        }
    }

    /// <summary>The guest's dirty rate for the convergence check; none (said in -Verbose) when it cannot be sampled, as the
    /// source check says whether the VM answers.</summary>
    private static async Task<double?> SampledOrNoneAsync(MigrationRequest migration, Func<Task<double>> sample)
    {
        try
        {
            return await sample();
        }
        catch (MigrationException e)
        {
            migration.Log.Verbose($"{migration.Vm.Name}: no convergence prediction: {e.Message}");
            return null;
        }
    }

    /// <summary>Each end's interface has the MTU the inventory says, and a packet of the smaller one crosses unfragmented.</summary>
    private static async Task<ReadinessCheck> MtuCheckAsync(MigrationInventory inventory, MigrationPlan plan, IncomingChecked answer, CancellationToken cancel)
    {
        var planned = (Source: Interface(inventory, plan.SourceHost, plan.SourceInterface), Destination: Interface(inventory, plan.DestinationHost, plan.DestinationInterface));
        var problems = new List<string>();
        var here = HostFacts.InterfaceOf(plan.SourceAddress);
        if (here is null)
            problems.Add($"this machine has no interface with {plan.SourceAddress} ({plan.SourceHost} {plan.SourceInterface} in the inventory): run the check on {plan.SourceHost}");
        else if (here.Value.Mtu != planned.Source.Mtu)
            problems.Add($"{plan.SourceHost} {here.Value.Name} has MTU {here.Value.Mtu}, the inventory says {planned.Source.Mtu}");
        if (answer.Mtu is not { } there)
            problems.Add($"{plan.DestinationHost}'s agent did not say which interface has {plan.DestinationAddress}");
        else if (there != planned.Destination.Mtu)
            problems.Add($"{plan.DestinationHost} {answer.Interface} has MTU {there}, the inventory says {planned.Destination.Mtu}");
        if (problems.Count > 0)
            return Failed(ReadinessCheckNames.Mtu, string.Join("; ", problems) + ": set the interface's MTU (ip link set DEV mtu N) or correct the inventory");

        var size = Math.Min(planned.Source.Mtu, planned.Destination.Mtu);
        var ends = $"{plan.SourceHost} {here!.Value.Name} and {plan.DestinationHost} {answer.Interface} have MTU {size}, as the inventory says";
        return await PathMtu.ProbeAsync(plan.SourceAddress, plan.DestinationAddress, size, cancel) switch
        {
            { Crossed: true } => new ReadinessCheck(ReadinessCheckNames.Mtu, true, $"{ends}; a {size}-byte packet crossed unfragmented"),
            { Crossed: false, Why: var why } when why.StartsWith(PathMtu.NotProbed, StringComparison.Ordinal) =>
                new ReadinessCheck(ReadinessCheckNames.Mtu, true, $"{ends}; the path itself was {why}"),
            var failed => Failed(ReadinessCheckNames.Mtu, $"{ends}, but a {size}-byte packet from {plan.SourceAddress} did not reach {plan.DestinationAddress} " +
                                                          $"unfragmented ({failed.Why}): a switch or router between them has a smaller MTU; raise it, or lower both interfaces and the inventory"),
        };
    }

    private static HostInterface Interface(MigrationInventory inventory, string host, string name) =>
        inventory.Host(host).Interfaces.First(i => i.Name == name);

    private static ReadinessCheck Failed(string name, string detail) => new(name, false, detail);

    private static ReadinessCheck[] NotChecked(string needs, params string[] names) =>
        names.Select(n => Failed(n, $"not checked: it needs {needs}, which failed")).ToArray();
}
