using System.CommandLine;
using System.Globalization;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Policies;
using PSMigration.Engine.NetworkTest;
using PSMigration.Qemu.Operations;

namespace PSMigration.Cli;

/// <summary><c>psmig test-network</c>: reachability, round trip, throughput per connection count and the
/// carrier interface, for each network two hosts share (Test-MigrationNetwork). Run it on the source host.</summary>
public static class TestNetworkCommand
{
    public static Command Create(CliOutput output)
    {
        var inventory = CommonOptions.Inventory();
        var json = CommonOptions.Json();
        var pki = CommonOptions.Pki();
        var source = new Option<string>("--source", "-s") { Description = "This host (the sender).", Required = true, HelpName = "HOST" };
        var destination = new Option<string>("--destination", "-d") { Description = "The host whose agent receives.", Required = true, HelpName = "HOST" };
        var network = new Option<string?>("--network") { Description = "Test this network only.", HelpName = "NAME" };
        var connections = new Option<string>("--connections")
        {
            Description = "Connection counts to try, comma-separated.", HelpName = "N[,N...]", DefaultValueFactory = _ => "1",
        };
        var seconds = new Option<int>("--seconds") { Description = "How long each measurement sends.", HelpName = "T", DefaultValueFactory = _ => 5 };
        var sweep = new Option<bool>("--sweep") { Description = "Try 1, 2, 4, 8 and 16 connections and recommend the smallest within 5% of the best." };
        var encryption = new Option<string?>("--encryption") { Description = "tls or none (default: the source's cluster policy).", HelpName = "MODE" };
        var resilient = new Option<bool>("--resilient")
        {
            Description = "A connection that breaks goes on over the other shared networks open to migrations, within the cluster's " +
                          "linkLossToleranceSeconds, as in a migration; the result lists the failovers. Without it a break ends the measurement.",
        };
        var command = new Command("test-network", "Measure the networks between two hosts through the destination's agent.")
        {
            inventory, source, destination, network, connections, seconds, sweep, encryption, resilient, pki, json,
        };
        command.SetAction(parsed =>
        {
            var loaded = CommonOptions.LoadInventory(parsed, inventory, output);
            var results = NetworkTestLaunch.RunAsync(loaded, parsed.GetValue(source)!, parsed.GetValue(destination)!, parsed.GetValue(network),
                parsed.GetValue(sweep) ? NetworkTestLaunch.SweepCounts : Counts(parsed.GetValue(connections)!),
                TimeSpan.FromSeconds(Positive(parsed.GetValue(seconds), "--seconds")), CommonOptions.ParseEnum<EncryptionMode>(parsed, encryption),
                parsed.GetValue(resilient), parsed.GetValue(pki)!, output.Log,
                new Core.InlineProgress<string>(value => { lock (output.Error) output.Error.WriteLine($"testing {value}"); }), CancellationToken.None).GetAwaiter().GetResult();
            foreach (var warning in results.SelectMany(r => r.Warnings).Distinct()) output.Warnings([warning]);
            if (parsed.GetValue(json)) output.Json(results);
            else Write(results, output.Out);
            return results.Any(r => r.Error is not null) ? CliApp.Failed : CliApp.Done;
        });
        return command;
    }

    private static void Write(IReadOnlyList<NetworkTestResult> results, TextWriter writer)
    {
        writer.WriteLine($"{"NETWORK",-10} {"PATH",-34} {"CONN",4} {"RTT ms",7} {"Gbit/s",8} {"CARRIER",-12} {"SHARE",5}");
        foreach (var r in results)
        {
            var path = $"{r.SourceAddress} -> {r.DestinationAddress}";
            var line = $"{r.Network,-10} {path,-34} {r.Connections,4} {Number(r.RttMs, "0.00"),7} {Number(r.ThroughputGbps, "0.00"),8} " +
                       $"{r.CarrierInterface ?? "-",-12} {(r.CarrierShare is { } s ? s.ToString("P0", CultureInfo.InvariantCulture) : "-"),5}";
            if (r.Recommended) line += "  <- recommended";
            if (r.CarrierInterface is { } carrier && carrier != r.SourceInterface)
                line += $"  (expected {r.SourceInterface})";
            writer.WriteLine(line);
            foreach (var failover in r.Failovers) writer.WriteLine($"  failover: {failover}");
            if (r.Error is not null) writer.WriteLine($"  error: {r.Error}");
        }
    }

    private static string Number(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static IReadOnlyList<int> Counts(string text)
    {
        var counts = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > PolicyKeys.MaxChannels)
                throw new MigrationException("InvalidParameterValue", FailureKind.InvalidInput, $"--connections: '{part}' is not a count from 1 to {PolicyKeys.MaxChannels}", "--connections");
            counts.Add(n);
        }
        return counts.Count > 0 ? counts : [1];
    }

    private static int Positive(int value, string option) => value > 0 ? value
        : throw new MigrationException("InvalidParameterValue", FailureKind.InvalidInput, $"{option} must be at least 1", option);
}
