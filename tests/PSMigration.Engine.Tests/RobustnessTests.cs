using System.Net.Sockets;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Tests;

public class RobustnessTests
{
    [Fact]
    public async Task The_agent_survives_ten_thousand_malformed_connections()
    {
        const int connections = 10_000;
        await using var lab = await EngineLab.StartAsync(o => o with { Log = _ => { } });
        var random = new Random(20261121);
        var payloads = Enumerable.Range(0, connections).Select(i => Malformed(i, random)).ToArray();

        using var gate = new SemaphoreSlim(64);
        var attempts = payloads.Select(async payload =>
        {
            await gate.WaitAsync();
            try
            {
                await using var client = await RawClient.ConnectAsync(lab.AgentEndpoint);
                await client.Stream.WriteAsync(payload);
                client.Socket.Shutdown(SocketShutdown.Send);
                Assert.True(await client.ClosedByAgentAsync(TimeSpan.FromSeconds(10)), "the agent kept a bad connection open");
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                // the agent may reset first: that is a refusal too
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(attempts);

        Assert.True(lab.Agent.Refused >= connections, $"refused {lab.Agent.Refused} of {connections}");
        await using var session = await lab.OpenAsync(2);
        var result = await session.SendSyntheticAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None);
        Assert.All(result.Channels, c => Assert.Equal(c.BytesSent, c.BytesConfirmed));
    }

    /// <summary>Garbage of several kinds: random bytes, a fake TLS record, a cut hello, a hello for no session.</summary>
    private static byte[] Malformed(int i, Random random) => (i % 4) switch
    {
        0 => RandomBytes(random, random.Next(1, 200)),
        1 => [0x16, 0x03, 0x01, .. RandomBytes(random, random.Next(0, 100))],
        2 => Hello.Control(Guid.NewGuid()).Encode()[..random.Next(1, Hello.Size)],
        _ => new Hello(ChannelKind.Data, Guid.NewGuid(), 0, 1, Hello.NewToken()).Encode(),
    };

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        if (length > 0 && bytes[0] == 0x16) bytes[0] = 0x17; // keep kind 0 plain garbage, not TLS
        return bytes;
    }
}
