using System.Diagnostics;
using System.Net.Sockets;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>The destination stops reading (a hung QEMU behind the agent): the source's buffers fill and
/// its writes block. Cancelling must still return at once and close every socket.</summary>
public class CancellationTests
{
    [Fact]
    public async Task Cancel_returns_within_a_second_and_closes_every_socket_while_the_peer_is_stalled()
    {
        await using var lab = await EngineLab.StartAsync(o => o with { Stall = TimeSpan.FromSeconds(30) });
        using var source = new LocalStreams(lab.Directory, "src");
        using var stalledTarget = new LocalStreams(lab.Directory, "dst"); // accepts, never reads
        await using var session = await EngineSession.OpenAsync(lab.Session(2) with { Stall = TimeSpan.FromSeconds(30) },
            TransferMode.Relay, "qemu", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var relay = session.RelayAsync((_, token) => source.AcceptAsync(token), cancel.Token);

        var qemu = new List<Socket>();
        var targets = new List<Socket>();
        for (var i = 0; i < 2; i++)
        {
            qemu.Add(await source.ConnectAsync());
            targets.Add(await stalledTarget.AcceptAsync(CancellationToken.None));
        }
        var writers = qemu.Select(s => Task.Run(async () =>
        {
            var chunk = new byte[1 << 20];
            try
            {
                while (true) await s.SendAsync(chunk, SocketFlags.None);
            }
            catch (Exception)
            {
                // the relay closed it: expected
            }
        })).ToList();
        await WaitUntilStalledAsync(session);

        var clock = Stopwatch.StartNew();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => relay);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"cancel took {clock.Elapsed}");

        foreach (var socket in qemu) Assert.True(await LocalStreams.ClosedByPeerAsync(socket, TimeSpan.FromSeconds(2)), "a source-side stream stayed open");
        foreach (var socket in targets) Assert.True(await LocalStreams.ClosedByPeerAsync(socket, TimeSpan.FromSeconds(3)), "a target-side stream stayed open");
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(2));
        Assert.Contains("the source closed the session", await lab.LoggedAsync("session "));
    }

    [Fact]
    public async Task A_peer_that_stops_reading_fails_the_session_naming_channel_peer_and_bytes()
    {
        await using var lab = await EngineLab.StartAsync(o => o with { Stall = TimeSpan.FromSeconds(30) });
        using var source = new LocalStreams(lab.Directory, "src");
        using var stalledTarget = new LocalStreams(lab.Directory, "dst");
        await using var session = await EngineSession.OpenAsync(lab.Session(1) with { Stall = TimeSpan.FromSeconds(2) },
            TransferMode.Relay, "qemu", CancellationToken.None);
        var relay = session.RelayAsync((_, token) => source.AcceptAsync(token), CancellationToken.None);
        var qemu = await source.ConnectAsync();
        using var target = await stalledTarget.AcceptAsync(CancellationToken.None);
        _ = Task.Run(async () =>
        {
            var chunk = new byte[1 << 20];
            try
            {
                while (true) await qemu.SendAsync(chunk, SocketFlags.None);
            }
            catch (Exception)
            {
                // closed by the relay
            }
        });

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<ChannelException>(() => relay.WaitAsync(TimeSpan.FromSeconds(15)));

        // Our write watchdog or the kernel's TCP_USER_TIMEOUT, whichever fires first: both bound the stall.
        Assert.Contains("stopped reading", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"the stall took {clock.Elapsed} to be noticed");
        Assert.Contains($"{lab.AgentEndpoint}", error.Message);
        Assert.Matches(@"on channel 0 after \d+(\.\d)? (KiB|MiB|GiB)", error.Message);
    }

    private static async Task WaitUntilStalledAsync(EngineSession session)
    {
        long last = -1;
        for (var i = 0; i < 100; i++)
        {
            await Task.Delay(100);
            var now = session.Stats.Sum(s => s.BytesSent);
            if (now > 0 && now == last) return;
            last = now;
        }
        throw new Xunit.Sdk.XunitException("the transfer never stalled");
    }
}
