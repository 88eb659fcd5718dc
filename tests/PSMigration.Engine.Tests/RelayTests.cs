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
        var checks = new List<Task>();
        for (var i = 0; i < channels; i++)
        {
            // Like QEMU: connect in order; the target side accepts in the same order.
            var client = await source.ConnectAsync();
            var server = await target.AcceptAsync(CancellationToken.None);
            var index = i;
            checks.Add(Task.Run(async () =>
            {
                var sending = LocalStreams.SendAllAsync(client, up[index]);
                var answering = LocalStreams.SendAllAsync(server, down[index]);
                var atTarget = await LocalStreams.ReceiveAllAsync(server);
                var atSource = await LocalStreams.ReceiveAllAsync(client);
                await Task.WhenAll(sending, answering);
                Assert.True(up[index].AsSpan().SequenceEqual(atTarget), $"stream {index} to the target differs");
                Assert.True(down[index].AsSpan().SequenceEqual(atSource), $"stream {index} back to the source differs");
            }));
        }
        await Task.WhenAll(checks);
        var result = await relay;

        Assert.Equal(channels * (long)size, result.BytesSent);
        Assert.Equal(channels * (long)size / 2, result.BytesReceived);
        Assert.Equal(result.BytesSent, result.BytesConfirmed);
    }
}
