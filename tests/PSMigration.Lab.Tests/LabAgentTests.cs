using System.Diagnostics;
using System.Text.Json;
using PSMigration.Cli;
using Xunit.Abstractions;

namespace PSMigration.Lab.Tests;

/// <summary>The destination agent on host b and psmig test-network on host a, across the lab's two
/// links, through the real psmig binary: reachability, throughput that matches each link, and the
/// interface that really carried the bytes.</summary>
[Collection(LabCollection.Name)]
public sealed class LabAgentTests(LabFixture lab, ITestOutputHelper output) : IDisposable
{
    private static readonly string Psmig = Path.Combine(AppContext.BaseDirectory, "psmig.dll");
    private readonly string pki = CreatePki(lab);
    private LabProcess? agent;

    private static string CreatePki(LabFixture lab)
    {
        var directory = Directory.CreateTempSubdirectory("psmig-lab-pki-").FullName;
        var result = CliApp.Run(["cert", "init", "--inventory", lab.InventoryPath, "--out", directory], new StringWriter(), new StringWriter());
        Assert.Equal(0, result);
        return directory;
    }

    private LabProcess StartAgent()
    {
        agent = lab.StartProcess(LabHost.B, "dotnet", Psmig, "agent", "--inventory", lab.InventoryPath, "--host", "b", "--pki", pki);
        agent.WaitForOutput("listening on", TimeSpan.FromSeconds(20));
        return agent;
    }

    private (ExecResult Exec, JsonElement[] Results) TestNetwork(TimeSpan timeout, params string[] extra)
    {
        string[] args = ["dotnet", Psmig, "test-network", "--inventory", lab.InventoryPath, "--source", "a", "--destination", "b",
            "--pki", pki, "--json", .. extra];
        var exec = lab.Exec(LabHost.A, timeout, args);
        output.WriteLine(exec.ToString());
        var results = exec.Stdout.Trim().StartsWith('[') ? JsonDocument.Parse(exec.Stdout).RootElement.EnumerateArray().ToArray() : [];
        return (exec, results);
    }

    [LabFact]
    public void Each_link_measures_like_itself_and_the_carrier_is_the_planned_interface()
    {
        StartAgent();

        var (exec, results) = TestNetwork(TimeSpan.FromSeconds(60), "--seconds", "2");

        Assert.Equal(0, exec.ExitCode);
        var lan = results.Single(r => r.GetProperty("network").GetString() == "lan");
        var mig = results.Single(r => r.GetProperty("network").GetString() == "mig");
        foreach (var (result, nic) in new[] { (lan, "lan0"), (mig, "mig0") })
        {
            Assert.True(result.GetProperty("reachable").GetBoolean());
            Assert.True(result.GetProperty("rttMs").GetDouble() > 0);
            Assert.Equal(nic, result.GetProperty("carrierInterface").GetString());
            Assert.True(result.GetProperty("carrierShare").GetDouble() > 0.9, $"{nic} carried only part: {result}");
        }
        Assert.InRange(lan.GetProperty("throughputGbps").GetDouble(), 0.5, 1.2);
        Assert.True(mig.GetProperty("throughputGbps").GetDouble() > 2, $"mig measured {mig.GetProperty("throughputGbps")}");
        Assert.Contains("from a (198.51.100.1) on mig", agent!.Stderr);
        Assert.Contains("from a (203.0.113.1) on lan", agent.Stderr);
    }

    [LabFact]
    public void TLS_and_several_connections_work_across_hosts()
    {
        StartAgent();

        var (exec, results) = TestNetwork(TimeSpan.FromSeconds(60), "--network", "mig", "--connections", "1,4", "--seconds", "1", "--encryption", "tls");

        Assert.Equal(0, exec.ExitCode);
        Assert.Equal([1, 4], results.Select(r => r.GetProperty("connections").GetInt32()));
        Assert.All(results, r => Assert.Equal("mig0", r.GetProperty("carrierInterface").GetString()));
        Assert.All(results, r => Assert.True(r.GetProperty("throughputGbps").GetDouble() > 0.5));
    }

    [LabFact]
    public void A_black_holed_link_becomes_an_error_naming_the_peer()
    {
        StartAgent();
        var clock = Stopwatch.StartNew();
        var run = Task.Run(() => TestNetwork(TimeSpan.FromSeconds(90), "--network", "mig", "--seconds", "30"));
        Thread.Sleep(3000);
        // Cut the far end: host a keeps its address and route, and what it sends vanishes silently,
        // as when a cable or a switch port dies. (This kernel has no netem for a packet-loss qdisc.)
        Assert.Equal(0, lab.Exec(LabHost.B, "ip", "link", "set", "mig0", "down").ExitCode);
        try
        {
            var (exec, results) = run.GetAwaiter().GetResult();

            Assert.Equal(1, exec.ExitCode);
            var error = results.Single().GetProperty("error").GetString()!;
            Assert.Contains("198.51.100.2:49152", error);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), $"the dead peer took {clock.Elapsed} to notice");
        }
        finally
        {
            lab.Exec(LabHost.B, "ip", "link", "set", "mig0", "up");
        }
    }

    [LabFact]
    public void A_resilient_test_whose_link_is_cut_goes_on_over_the_lan_and_reports_the_failover()
    {
        StartAgent();
        var run = Task.Run(() => TestNetwork(TimeSpan.FromSeconds(90), "--network", "mig", "--seconds", "20", "--connections", "2", "--resilient"));
        Thread.Sleep(3000);
        // Silently, as a dead cable: host a keeps its address and route on mig.
        Assert.Equal(0, lab.Exec(LabHost.B, "ip", "link", "set", "mig0", "down").ExitCode);
        try
        {
            var (exec, results) = run.GetAwaiter().GetResult();

            Assert.Equal(0, exec.ExitCode);
            var result = results.Single();
            Assert.Equal(JsonValueKind.Null, result.GetProperty("error").ValueKind);
            Assert.True(result.GetProperty("throughputGbps").GetDouble() > 0);
            var failovers = result.GetProperty("failovers").EnumerateArray().ToList();
            foreach (var channel in new[] { "channel 0", "channel 1", "the control channel" })
            {
                var moved = failovers.Single(f => f.GetProperty("channel").GetString() == channel);
                Assert.Equal("mig", moved.GetProperty("fromNetwork").GetString());
                Assert.Equal("lan", moved.GetProperty("toNetwork").GetString());
                Assert.InRange(moved.GetProperty("lostMs").GetInt64(), 1, 30_000);
            }
            Assert.Contains(result.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("not 'mig''s alone", StringComparison.Ordinal));
            Assert.Contains("channel 0 broke after", exec.Stderr); // the warning, on stderr as it happens to a script
            Assert.Contains("moved from 'mig' to 'lan'", exec.Stderr);
        }
        finally
        {
            lab.Exec(LabHost.B, "ip", "link", "set", "mig0", "up");
        }
    }

    [LabFact]
    public void The_agent_stops_cleanly_on_SIGTERM()
    {
        var running = StartAgent();

        Assert.Equal(0, lab.Exec(LabHost.B, "kill", "-TERM", running.Id.ToString()).ExitCode);
        var exit = running.WaitForExit(TimeSpan.FromSeconds(10));

        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("stopped", running.Stderr);
    }

    public void Dispose()
    {
        agent?.Dispose();
        Directory.Delete(pki, recursive: true);
    }
}
