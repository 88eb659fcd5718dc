using System.Text.Json;
using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Migration;

/// <summary>What a migration would do, step by step, for -WhatIf and <c>psmig migrate --what-if</c>:
/// the same settings and QMP commands the driver sends.</summary>
public static class MigrationSteps
{
    public static IReadOnlyList<string> Describe(MigrationRequest request)
    {
        if (request.Vm.Libvirt is not null) return DescribeLibvirt(request);
        var plan = request.Plan;
        var qemu = request.Vm.Qemu;
        if (qemu is null) return [$"{request.Vm.Name} has neither a qemu nor a libvirt section: nothing to do"];
        var settings = MigrationSetup.From(plan);
        var directTls = plan.Tls && !plan.ViaEngine;
        var agent = Agent(plan);
        var twin = new QemuCommandLine(qemu.Binary, qemu.Args, qemu.Qmp, $"{RunDirectory.Placeholder}/{request.Vm.Name}.incoming.pid") { Incoming = true };
        var steps = new List<string>
        {
            $"source QMP {request.QmpPath}: query-status, query-migrate (the VM must be running or paused, and not migrating)",
            $"{agent} (TLS, cluster certificate of {plan.SourceHost}): start the twin paused: {twin}",
        };
        if (directTls) steps.Add($"destination QMP: object-add tls-creds-x509 (endpoint server, verify-peer) from the cluster PKI of {plan.DestinationHost}");
        steps.AddRange(Commands(settings, directTls ? QemuTls.ObjectId : null, null).Select(c => "destination QMP: " + c));
        steps.Add(plan.ViaEngine
            ? "destination QMP: migrate-incoming {\"uri\":\"unix:<run dir>/<vm>.<id>.incoming\"} (the agent relays to it)"
            : $"destination QMP: migrate-incoming {{\"uri\":\"tcp:{plan.DestinationAddress}:0\"}} (QEMU picks the port)");
        if (directTls) steps.Add($"source QMP: object-add tls-creds-x509 (endpoint client) from the cluster PKI of {plan.SourceHost}");
        steps.AddRange(Commands(settings, directTls ? QemuTls.ObjectId : null, directTls ? plan.DestinationHost : null).Select(c => "source QMP: " + c));
        if (plan.ViaEngine)
        {
            steps.Add(EngineStep(plan));
            steps.Add("source QMP: migrate {\"uri\":\"unix:<run dir>/<vm>.<id>.outgoing\"}");
        }
        else
        {
            steps.Add($"source QMP: migrate {{\"uri\":\"tcp:{plan.DestinationAddress}:<port>\"}} (the route to {plan.DestinationAddress} decides the NIC; planned: {plan.SourceInterface})");
        }
        steps.Add($"source QMP: query-migrate every {MigrationRun.PollEvery.TotalMilliseconds:0} ms until completed (timeout {request.EffectiveTimeout.TotalSeconds:0} s, then migrate_cancel)");
        steps.Add($"{agent}: commit: check the VM arrived, then 'cont' the twin");
        steps.Add("source QMP: quit");
        steps.AddRange(InventoryStep(request));
        return steps;
    }

    /// <summary>The libvirt driver's steps: the one libvirt call (as C and as virsh), and how it is watched.</summary>
    private static IReadOnlyList<string> DescribeLibvirt(MigrationRequest request)
    {
        var plan = request.Plan;
        var libvirt = request.Vm.Libvirt!;
        var engineSocket = plan.ViaEngine ? request.LibvirtSocketPath("<id>") : null;
        var call = Libvirt.LibvirtMigrationDriver.CallFor(request, persistent: true, engineSocket);
        var steps = new List<string>
        {
            $"source libvirt {libvirt.LocalUri}: domain {libvirt.Domain} must be running or paused, with no job running",
        };
        if (engineSocket is not null)
        {
            steps.Add($"{Agent(plan)} (TLS, cluster certificate of {plan.SourceHost}): relay to libvirt's incoming socket {engineSocket} " +
                      "(libvirt's destination QEMU listens on the source's path)");
            steps.Add(EngineStep(plan));
        }
        steps.Add("source libvirt: " + call.Describe() +
                  " (a transient domain has no VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE)");
        steps.Add("the same with virsh: " + call.ToVirsh());
        steps.Add($"source libvirt: virDomainGetJobStats every {MigrationRun.PollEvery.TotalMilliseconds:0} ms until the call returns (timeout {request.EffectiveTimeout.TotalSeconds:0} s, " +
                  "or cancel: virDomainAbortJob; libvirt resumes the source)");
        steps.Add($"destination libvirt {call.DestinationUri}: the domain's state and completed-job numbers (virDomainGetJobStats COMPLETED)");
        steps.AddRange(InventoryStep(request));
        return steps;
    }

    private static string Agent(Core.Planning.MigrationPlan plan) => $"{plan.DestinationHost}'s agent at {plan.DestinationAddress}:{plan.DestinationPort}";

    private static string EngineStep(Core.Planning.MigrationPlan plan) =>
        $"engine: {EngineRelay.Streams(plan)} connection(s) from {plan.SourceAddress} to {plan.DestinationAddress}:{plan.DestinationPort} over '{plan.Network}'" +
        $"{(plan.Tls ? " with TLS" : " (plain, session token)")}, relaying QEMU's main channel first, then each multifd channel";

    private static IEnumerable<string> InventoryStep(MigrationRequest request) =>
        request.UpdateInventory && request.Plan.InventoryPath is not null
            ? [$"inventory {request.Plan.InventoryPath}: {request.Vm.Name} host: {request.Plan.SourceHost} -> {request.Plan.DestinationHost}"]
            : [];

    private static IEnumerable<string> Commands(Engine.Protocol.MigrationSettings settings, string? tlsCreds, string? tlsHostname) =>
        MigrationSetup.Commands(settings, tlsCreds, tlsHostname).Select(c => $"{c.Command} {JsonSerializer.Serialize(c.Arguments)}");
}
