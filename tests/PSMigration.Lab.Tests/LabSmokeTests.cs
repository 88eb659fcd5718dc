using Xunit.Abstractions;

namespace PSMigration.Lab.Tests;

/// <summary>The lab does what the product's tests will rely on: two hosts, a 1 Gbit/s "lan", a fast
/// "mig", traffic confined to the namespaces, byte counters that name the carrier, clean teardown.</summary>
[Collection(LabCollection.Name)]
public sealed class LabSmokeTests(LabFixture lab, ITestOutputHelper output)
{
    private static readonly TimeSpan Ping = TimeSpan.FromSeconds(10);

    [LabFact("ping")]
    public void Hosts_reach_each_other_over_both_links_and_their_addresses_exist_only_inside_the_lab()
    {
        LabEnvironment.EnsureAvailable("ping");
        foreach (var link in new[] { LabLink.Lan, LabLink.Mig })
        {
            foreach (var (from, to) in new[] { (LabHost.A, LabHost.B), (LabHost.B, LabHost.A) })
            {
                var ping = lab.Exec(from, Ping, "ping", "-c", "1", "-W", "2", "-I", lab.Address(from, link), lab.Address(to, link));
                Assert.True(ping.ExitCode == 0, $"{from} -> {to} over {link}: {ping}");
            }
        }

        // Each host has its two addresses on the interfaces the inventory names, with their MTUs.
        foreach (var host in new[] { LabHost.A, LabHost.B })
        {
            var addr = lab.Exec(host, "ip", "-o", "-4", "addr", "show");
            Assert.Matches($@"lan0\s+inet {lab.Address(host, LabLink.Lan).Replace(".", @"\.")}/24", addr.Stdout);
            Assert.Matches($@"mig0\s+inet {lab.Address(host, LabLink.Mig).Replace(".", @"\.")}/24", addr.Stdout);
            Assert.Contains("mtu 9000", lab.Exec(host, "ip", "-o", "link", "show", "mig0").Stdout);
            Assert.Contains("mtu 1500", lab.Exec(host, "ip", "-o", "link", "show", "lan0").Stdout);
        }

        // The root namespace has none of the lab's interfaces, hence none of its addresses. (The lab
        // stays off 192.0.2.0/24 because some machines' own eth0 and gateway live there. The check is
        // that no root interface is a lab interface, by name and by MAC, and that a lab address in
        // root, if the machine happens to have one, sits on no veth.)
        var labMacs = new[] { LabHost.A, LabHost.B }
            .SelectMany(h => new[] { "lan0", "mig0" }.Select(i => lab.Exec(h, "cat", $"/sys/class/net/{i}/address").Stdout.Trim()))
            .ToArray();
        Assert.All(labMacs, mac => Assert.Matches("^([0-9a-f]{2}:){5}[0-9a-f]{2}$", mac));
        var rootLinks = Shell.Run("ip", ["-o", "link"], Ping);
        Assert.Equal(0, rootLinks.ExitCode);
        Assert.DoesNotMatch(@"(?m)^\d+: (lan0|mig0)[@:]", rootLinks.Stdout);
        Assert.DoesNotContain("link-netns " + lab.Name, rootLinks.Stdout);
        Assert.All(labMacs, mac => Assert.DoesNotContain(mac, rootLinks.Stdout));
        var rootVeths = Shell.Run("ip", ["-o", "link", "show", "type", "veth"], Ping).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':')[1].Trim().Split('@')[0]).ToHashSet();
        var rootAddr = Shell.Run("ip", ["-o", "-4", "addr"], Ping);
        Assert.Equal(0, rootAddr.ExitCode);
        foreach (var line in rootAddr.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var iface = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            foreach (var address in new[] { LabAddresses.LanA, LabAddresses.LanB, LabAddresses.MigA, LabAddresses.MigB })
            {
                if (!line.Contains($" {address}/", StringComparison.Ordinal)) continue;
                output.WriteLine($"note: the root namespace has {address} on {iface} (the machine's own network, not the lab)");
                Assert.False(rootVeths.Contains(iface) || iface is "lan0" or "mig0", $"lab address {address} on root interface {iface}: {line}");
            }
        }
    }

    [LabFact("iperf3")]
    public void Lan_is_shaped_to_1_Gbit_each_way_and_mig_is_far_faster()
    {
        var lanAB = Iperf.Run(lab, LabHost.A, LabLink.Lan);
        var lanBA = Iperf.Run(lab, LabHost.B, LabLink.Lan);
        var mig = Iperf.Run(lab, LabHost.A, LabLink.Mig);
        output.WriteLine(lanAB.ToString());
        output.WriteLine(lanBA.ToString());
        output.WriteLine(mig.ToString());

        // tbf at 1 Gbit/s of frames gives ~0.95 Gbit/s of TCP payload; the window only guards against
        // "not shaped" and "shaped far too hard" without being flaky on a busy machine.
        Assert.InRange(lanAB.ReceivedGbps, 0.5, 1.2);
        Assert.InRange(lanBA.ReceivedGbps, 0.5, 1.2);
        Assert.True(mig.ReceivedGbps > 2.0, $"mig should be unshaped (veth: tens of Gbit/s): {mig}");
    }

    [LabFact("iperf3")]
    public void Interface_tx_byte_counters_show_which_link_carried_the_traffic()
    {
        var mig = Iperf.Run(lab, LabHost.A, LabLink.Mig);
        var lan = Iperf.Run(lab, LabHost.A, LabLink.Lan);
        output.WriteLine(mig.ToString());
        output.WriteLine(lan.ToString());

        // Over mig: mig0 sent at least the payload that arrived (plus headers; what iperf3 wrote
        // but was still queued when the test ended never left), lan0 next to nothing (ss and cat
        // do not touch the links; IPv6 is off, so no neighbour discovery chatter either).
        Assert.True(mig.SenderTxBytesDelta["mig0"] >= mig.BytesReceived, mig.ToString());
        Assert.True(mig.SenderTxBytesDelta["lan0"] < 64 * 1024, mig.ToString());
        Assert.True(mig.SenderTxBytesDelta["lan0"] < mig.SenderTxBytesDelta["mig0"] / 1000, mig.ToString());

        // And the other way round over lan.
        Assert.True(lan.SenderTxBytesDelta["lan0"] >= lan.BytesReceived, lan.ToString());
        Assert.True(lan.SenderTxBytesDelta["mig0"] < 64 * 1024, lan.ToString());
    }

    [LabFact]
    public async Task Down_leaves_no_namespace_veth_or_process_behind()
    {
        var own = new LabFixture(); // a second lab, so the shared one stays up for the other tests
        await own.InitializeAsync();
        string name = own.Name;
        var daemonPid = 0;
        try
        {
            Assert.True(own.IsUp);
            Assert.Contains($"{name}-a", NetnsList());
            Assert.Contains($"{name}-b", NetnsList());
            // A daemon left running inside (not started through the fixture, so only lab.sh down
            // can stop it) must not keep the namespace, and the veths in it, alive.
            var daemon = own.Exec(LabHost.B, "sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $!");
            Assert.True(daemon.ExitCode == 0, daemon.ToString());
            daemonPid = int.Parse(daemon.Stdout.Trim());
            Assert.True(Directory.Exists($"/proc/{daemonPid}"));
        }
        finally
        {
            await own.DisposeAsync();
        }

        Assert.False(own.IsUp);
        Assert.DoesNotContain($"{name}-a", NetnsList());
        Assert.DoesNotContain($"{name}-b", NetnsList());
        var links = Shell.Run("ip", ["-o", "link"], Ping);
        Assert.Equal(0, links.ExitCode);
        Assert.DoesNotContain(name, links.Stdout);
        Assert.DoesNotMatch(@"(?m)^\d+: (lan0|mig0)[@:]", links.Stdout);
        Assert.False(File.Exists($"/run/netns/{name}-a"));
        Assert.True(Gone(daemonPid), $"process {daemonPid} (sleep 300 inside {name}-b) survived lab.sh down");

        // down is idempotent: a second run on the gone lab succeeds and changes nothing.
        var again = Shell.Run("bash", [LabEnvironment.LabScript, "down", name], Ping);
        Assert.True(again.ExitCode == 0, again.ToString());
    }

    private static string NetnsList()
    {
        var list = Shell.Run("ip", ["netns", "list"], Ping);
        Assert.Equal(0, list.ExitCode);
        return list.Stdout;
    }

    // Gone, or dead and waiting for init to reap it.
    private static bool Gone(int pid)
    {
        for (var i = 0; i < 50; i++)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z')) return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return true; }
            Thread.Sleep(100);
        }
        return false;
    }
}
