using System.Security.Cryptography;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Tests;

public class RelayTests
{
    [Fact]
    public async Task Large_random_streams_arrive_byte_exact_both_ways_in_accept_order()
    {
        const int channels = 4;
        const int size = 24 << 20;
        await using var lab = await EngineLab.StartAsync();
        using var source = new LocalStreams(lab.Directory, "src");
        using var target = new LocalStreams(lab.Directory, "dst");
        await using var session = await lab.OpenAsync(channels, tls: true, TransferMode.Relay, "qemu");
        Assert.Equal(TimeSpan.Zero, session.HandshakeRtt); // a relay does not wait for the network test's pings
        var relay = session.RelayAsync((_, cancel) => source.AcceptAsync(cancel), CancellationToken.None);

        var up = Enumerable.Range(0, channels).Select(_ => RandomNumberGenerator.GetBytes(size)).ToArray();
        var down = Enumerable.Range(0, channels).Select(_ => RandomNumberGenerator.GetBytes(size / 2)).ToArray();
        // Like QEMU: connect in order; the target side accepts in the same order. Each source side is read only after its
        // target side: a relay must carry one way while the other is not read.
        var checks = await LocalStreams.ExchangeAsync(source, target, up, down, oneWayFirst: true);
        await Task.WhenAll(checks);
        var result = await relay;

        Assert.Equal(channels * (long)size, result.BytesSent);
        Assert.Equal(channels * (long)size / 2, result.BytesReceived);
        Assert.Equal(result.BytesSent, result.BytesConfirmed);
    }
}
