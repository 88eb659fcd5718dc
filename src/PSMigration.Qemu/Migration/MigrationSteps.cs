using System.Text.Json;
using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Migration;

/// <summary>What a migration would do, step by step, for -WhatIf and <c>psmig migrate --what-if</c>:
/// the same settings and QMP commands the driver sends.</summary>
public static class MigrationSteps
{
    public static IReadOnlyList<string> Describe(MigrationRequest request)
    {
        var plan = request.Plan;
        var qemu = request.Vm.Qemu;
        if (qemu is null) return [$"{request.Vm.Name} has no qemu section: nothing to do with the QEMU driver"];
        var settings = MigrationSetup.From(plan);
        var directTls = plan.Encryption == "tls" && plan.Transport == "direct";
        var agent = $"{plan.DestinationHost}'s agent at {plan.DestinationAddress}:{plan.DestinationPort}";
        var twin = new QemuCommandLine(qemu.Binary, qemu.Args, qemu.Qmp, $"{RunDirectory.Placeholder}/{request.Vm.Name}.incoming.pid") { Incoming = true };
        var steps = new List<string>
        {
            $"source QMP {request.QmpPath}: query-status, query-migrate (the VM must be running or paused, and not migrating)",
            $"{agent} (TLS, cluster certificate of {plan.SourceHost}): start the twin paused: {twin}",
        };
        if (directTls) steps.Add($"destination QMP: object-add tls-creds-x509 (endpoint server, verify-peer) from the cluster PKI of {plan.DestinationHost}");
        steps.AddRange(Commands(settings, directTls ? QemuTls.ObjectId : null, null).Select(c => "destination QMP: " + c));
        steps.Add(plan.Transport == "engine"
            ? "destination QMP: migrate-incoming {\"uri\":\"unix:<run dir>/<vm>.<id>.incoming\"} (the agent relays to it)"
            : $"destination QMP: migrate-incoming {{\"uri\":\"tcp:{plan.DestinationAddress}:0\"}} (QEMU picks the port)");
        if (directTls) steps.Add($"source QMP: object-add tls-creds-x509 (endpoint client) from the cluster PKI of {plan.SourceHost}");
        steps.AddRange(Commands(settings, directTls ? QemuTls.ObjectId : null, directTls ? plan.DestinationHost : null).Select(c => "source QMP: " + c));
        if (plan.Transport == "engine")
        {
            var streams = settings.Multifd ? settings.Channels + 1 : 1;
            steps.Add($"engine: {streams} connection(s) from {plan.SourceAddress} to {plan.DestinationAddress}:{plan.DestinationPort} over '{plan.Network}'" +
                      $"{(plan.Encryption == "tls" ? " with TLS" : " (plain, session token)")}, relaying QEMU's main channel first, then each multifd channel");
            steps.Add("source QMP: migrate {\"uri\":\"unix:<run dir>/<vm>.<id>.outgoing\"}");
        }
        else
        {
            steps.Add($"source QMP: migrate {{\"uri\":\"tcp:{plan.DestinationAddress}:<port>\"}} (the route to {plan.DestinationAddress} decides the NIC; planned: {plan.SourceInterface})");
        }
        steps.Add($"source QMP: query-migrate every 250 ms until completed (timeout {request.EffectiveTimeout.TotalSeconds:0} s, then migrate_cancel)");
        steps.Add($"{agent}: commit: check the VM arrived, then 'cont' the twin");
        steps.Add("source QMP: quit");
        if (request.UpdateInventory && plan.InventoryPath is not null)
            steps.Add($"inventory {plan.InventoryPath}: {request.Vm.Name} host: {plan.SourceHost} -> {plan.DestinationHost}");
        return steps;
    }

    private static IEnumerable<string> Commands(Engine.Protocol.MigrationSettings settings, string? tlsCreds, string? tlsHostname) =>
        MigrationSetup.Commands(settings, tlsCreds, tlsHostname).Select(c => $"{c.Command} {JsonSerializer.Serialize(c.Arguments)}");
}
