using System.Text.Json;

namespace PSMigration.Lab.Tests;

/// <summary>One iperf3 TCP run between the lab hosts, with the sender's interface byte counters around it.</summary>
public sealed record IperfRun(
    LabHost Sender, LabLink Link, double SentGbps, double ReceivedGbps, long BytesSent, long BytesReceived,
    IReadOnlyDictionary<string, long> SenderTxBytesDelta)
{
    public override string ToString() =>
        $"{LabAddresses.Name(Sender)} -> over {Link}: {ReceivedGbps:0.000} Gbit/s received ({SentGbps:0.000} sent; {BytesReceived} of {BytesSent} bytes arrived); " +
        "sender tx_bytes deltas: " + string.Join(", ", SenderTxBytesDelta.Select(d => $"{d.Key} {d.Value}"));
}

public static class Iperf
{
    private static int nextPort = 5201;

    /// <summary>
    /// iperf3 for <paramref name="seconds"/> from <paramref name="sender"/> to the other host over
    /// <paramref name="link"/>: the server is started on the receiver, bound to its address on that
    /// link; the client binds to the sender's address on it. Every step has a deadline.
    /// </summary>
    public static IperfRun Run(LabFixture lab, LabHost sender, LabLink link, int seconds = 2)
    {
        LabEnvironment.EnsureAvailable("iperf3");
        var receiver = sender == LabHost.A ? LabHost.B : LabHost.A;
        var port = Interlocked.Increment(ref nextPort);
        var to = lab.Address(receiver, link);
        var from = lab.Address(sender, link);

        using var server = lab.StartProcess(receiver, "iperf3", "-s", "-1", "-B", to, "-p", $"{port}");
        lab.WaitForTcpListen(receiver, port, TimeSpan.FromSeconds(10));

        var before = TxBytes(lab, sender);
        var client = lab.Exec(sender, TimeSpan.FromSeconds(seconds + 20),
            "iperf3", "-c", to, "-B", from, "-p", $"{port}", "-t", $"{seconds}", "-J", "--connect-timeout", "3000");
        var after = TxBytes(lab, sender);
        Assert.True(client.ExitCode == 0, $"iperf3 client failed: {client}");
        server.WaitForExit(TimeSpan.FromSeconds(10));

        using var json = JsonDocument.Parse(client.Stdout);
        var end = json.RootElement.GetProperty("end");
        var sent = end.GetProperty("sum_sent");
        var received = end.GetProperty("sum_received");
        return new IperfRun(
            sender, link,
            sent.GetProperty("bits_per_second").GetDouble() / 1e9,
            received.GetProperty("bits_per_second").GetDouble() / 1e9,
            sent.GetProperty("bytes").GetInt64(),
            received.GetProperty("bytes").GetInt64(),
            before.ToDictionary(b => b.Key, b => after[b.Key] - b.Value));
    }

    private static Dictionary<string, long> TxBytes(LabFixture lab, LabHost host) =>
        new[] { "lan0", "mig0" }.ToDictionary(i => i, i => lab.InterfaceCounter(host, i, "tx_bytes"));
}
