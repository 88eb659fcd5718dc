using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PSMigration.Cli.Tests;

/// <summary>psmig agent (a real process) and psmig test-network on loopback: 127.0.0.1 is "src", 127.0.0.2 "dst".</summary>
public sealed class TestNetworkCommandTests : IDisposable
{
    private static readonly string[] ContractFields =
        ["network", "sourceAddress", "destinationAddress", "reachable", "rttMs", "connections", "throughputGbps", "carrierInterface", "carrierShare", "error"];

    private readonly string directory = Directory.CreateTempSubdirectory("psmig-testnet-").FullName;
    private readonly string inventory;
    private readonly string pki;
    private readonly Process agent;

    public TestNetworkCommandTests()
    {
        var port = FreePort();
        inventory = Path.Combine(directory, "inventory.yaml");
        File.WriteAllText(inventory, $$"""
            networks:
              - { name: lo, cidr: 127.0.0.0/8, role: migration }
            hosts:
              - name: src
                cpuThreads: 2
                agent: { port: {{port}} }
                interfaces: [{ name: lo, addresses: [127.0.0.1/8], speedGbps: 10 }]
              - name: dst
                cpuThreads: 2
                agent: { port: {{port}} }
                interfaces: [{ name: lo, addresses: [127.0.0.2/8], speedGbps: 10 }]
            """);
        pki = Path.Combine(directory, "pki");
        Assert.Equal(0, Cli.Run("cert", "init", "--inventory", inventory, "--out", pki).ExitCode);
        agent = StartAgent();
    }

    private Process StartAgent()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "psmig.dll"), "agent", "--inventory", inventory, "--host", "dst", "--pki", pki })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource();
        process.ErrorDataReceived += (_, e) => { if (e.Data?.Contains("listening on") == true) listening.TrySetResult(); };
        process.BeginErrorReadLine();
        Assert.True(listening.Task.Wait(TimeSpan.FromSeconds(30)), "the agent did not start");
        return process;
    }

    [Fact]
    public void Json_follows_the_contract_and_a_sweep_recommends_one_count()
    {
        var result = Cli.Run("test-network", "--inventory", inventory, "--source", "src", "--destination", "dst", "--pki", pki,
            "--connections", "1,2", "--seconds", "1", "--json");

        Assert.Equal(0, result.ExitCode);
        var rows = result.Json.EnumerateArray().ToList();
        Assert.Equal([1, 2], rows.Select(r => r.GetProperty("connections").GetInt32()));
        foreach (var row in rows)
        {
            foreach (var field in ContractFields) Assert.True(row.TryGetProperty(field, out _), $"missing '{field}' in {row}");
            Assert.True(row.GetProperty("reachable").GetBoolean());
            Assert.Equal("127.0.0.2", row.GetProperty("destinationAddress").GetString());
            Assert.True(row.GetProperty("throughputGbps").GetDouble() > 0);
            Assert.Equal("lo", row.GetProperty("carrierInterface").GetString());
        }
        Assert.Single(rows, r => r.GetProperty("recommended").GetBoolean());
        Assert.Contains("testing lo: 2 connection(s)", result.Stderr);
    }

    [Fact]
    public void An_unreachable_agent_is_reported_per_network_with_exit_1()
    {
        agent.Kill();
        agent.WaitForExit();

        var result = Cli.Run("test-network", "--inventory", inventory, "--source", "src", "--destination", "dst", "--pki", pki,
            "--seconds", "1", "--json");

        Assert.Equal(1, result.ExitCode);
        var row = result.Json.EnumerateArray().Single();
        Assert.False(row.GetProperty("reachable").GetBoolean());
        Assert.Contains("connection refused by 127.0.0.2", row.GetProperty("error").GetString());
    }

    [Fact]
    public void A_missing_pki_says_how_to_make_one()
    {
        var result = Cli.Run("test-network", "--inventory", inventory, "--source", "src", "--destination", "dst", "--pki", Path.Combine(directory, "nope"));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("psmig cert init", result.Stderr);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Parse("127.0.0.2"), 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!agent.HasExited) agent.Kill();
        agent.Dispose();
        Directory.Delete(directory, recursive: true);
    }
}
