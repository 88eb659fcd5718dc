using System.Net;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

public class SyntheticTransferTests
{
    [Theory]
    [InlineData(1, true)]
    [InlineData(4, true)]
    [InlineData(4, false)]
    public async Task Every_channel_carries_data_and_the_agent_confirms_every_byte(int channels, bool tls)
    {
        await using var lab = await EngineLab.StartAsync();
        await using var session = await lab.OpenAsync(channels, tls);

        var result = await session.SendSyntheticAsync(TimeSpan.FromMilliseconds(500), CancellationToken.None);

        Assert.Equal(channels, result.Channels.Count);
        Assert.All(result.Channels, c => Assert.True(c.BytesSent > 0, $"channel {c.Index} sent nothing"));
        Assert.All(result.Channels, c => Assert.Equal(c.BytesSent, c.BytesConfirmed));
        Assert.True(result.Gbps > 0);
        Assert.True(session.HandshakeRtt > TimeSpan.Zero);
        var line = await lab.LoggedAsync("session ");
        Assert.Contains($"from src (127.0.0.1) on lo: synthetic, {channels} channel(s)", line);
        Assert.EndsWith(": ok", line);
    }

    [Fact]
    public async Task The_agent_serves_several_sessions_at_once()
    {
        await using var lab = await EngineLab.StartAsync();
        var sessions = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => lab.OpenAsync(1 + i, tls: i % 2 == 0)));
        try
        {
            var results = await Task.WhenAll(sessions.Select(s => s.SendSyntheticAsync(TimeSpan.FromMilliseconds(500), CancellationToken.None)));

            Assert.Equal([1, 2, 3], results.Select(r => r.Channels.Count));
            Assert.All(results, r => Assert.All(r.Channels, c => Assert.Equal(c.BytesSent, c.BytesConfirmed)));
            Assert.All(results, r => Assert.True(r.BytesConfirmed > 0));
        }
        finally
        {
            foreach (var session in sessions) await session.DisposeAsync();
        }
        // The agent logs a session when its source has closed it: give it a moment.
        for (var i = 0; i < 100 && lab.AgentLog.Count(l => l.StartsWith("session ")) < 3; i++) await Task.Delay(50);
        Assert.Equal(3, lab.AgentLog.Count(l => l.StartsWith("session ") && l.EndsWith(": ok")));
    }

    [Fact]
    public async Task A_bandwidth_cap_holds_for_the_whole_session()
    {
        await using var lab = await EngineLab.StartAsync();
        await using var session = await EngineSession.OpenAsync(lab.Session(4) with { BandwidthGbps = 0.2 },
            Protocol.TransferMode.Synthetic, null, CancellationToken.None);

        var result = await session.SendSyntheticAsync(TimeSpan.FromSeconds(1), CancellationToken.None);

        // 0.2 Gbit/s for 1 s is 25 MB; allow the burst allowance and timer slack, but not an uncapped loopback.
        Assert.InRange(result.Gbps, 0.05, 0.3);
    }

    [Fact]
    public async Task Every_connection_leaves_from_the_source_address()
    {
        // 127.0.0.4 is one the kernel would never pick by itself for 127.0.0.2: only the bind puts it there.
        var bound = IPAddress.Parse("127.0.0.4");
        await using var lab = await EngineLab.StartAsync(o => o with { AllowFrom = [new IPNetwork(bound, 32)] });
        await using var session = await EngineSession.OpenAsync(lab.Session(3) with { SourceAddress = bound },
            Protocol.TransferMode.Synthetic, null, CancellationToken.None);

        var result = await session.SendSyntheticAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);

        // The agent accepts only 127.0.0.4, and a data channel from another address than its control
        // channel's would be refused: every channel left from the bound address.
        Assert.All(result.Channels, c => Assert.Equal(c.BytesSent, c.BytesConfirmed));
        Assert.Contains("from src (127.0.0.4) on lo: synthetic, 3 channel(s)", await lab.LoggedAsync("session "));
    }
}
