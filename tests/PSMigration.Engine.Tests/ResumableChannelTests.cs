using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>
/// Connections that break in the middle of a session: the engine brings them back (its own network first, then the
/// failover ones in order), each stream goes on exactly where its receiver stopped, and each failover is told. The
/// "mig" network is a <see cref="CuttablePath"/> in front of the agent; "lan" is the agent's own address.
/// </summary>
public class ResumableChannelTests
{
    private static readonly IPAddress MigAddress = IPAddress.Parse("127.0.0.4");

    private static SessionOptions Options(EngineLab lab, CuttablePath mig, int channels, bool tls, TimeSpan tolerance, bool withLan,
        ConcurrentQueue<ChannelFailover> failovers) =>
        lab.Session(channels, tls) with
        {
            Agent = mig.Endpoint,
            Network = "mig",
            Failover = withLan ? [new AgentRoute("lan", EngineLab.Source, lab.AgentEndpoint)] : [],
            LinkLossTolerance = tolerance,
            FailedOver = failovers.Enqueue,
        };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Relayed_streams_cut_midway_go_on_over_the_next_network_byte_exact(bool tls)
    {
        const int channels = 3;
        const int size = 48 << 20;
        await using var lab = await EngineLab.StartAsync();
        await using var mig = new CuttablePath(MigAddress, lab.AgentEndpoint);
        using var source = new LocalStreams(lab.Directory, "src");
        using var target = new LocalStreams(lab.Directory, "dst");
        var failovers = new ConcurrentQueue<ChannelFailover>();
        await using var session = await EngineSession.OpenAsync(Options(lab, mig, channels, tls, TimeSpan.FromSeconds(20), withLan: true, failovers),
            TransferMode.Relay, "qemu", CancellationToken.None);
        var relay = session.RelayAsync((_, cancel) => source.AcceptAsync(cancel), CancellationToken.None);

        var up = Enumerable.Range(0, channels).Select(_ => RandomNumberGenerator.GetBytes(size)).ToArray();
        var down = Enumerable.Range(0, channels).Select(_ => RandomNumberGenerator.GetBytes(size / 8)).ToArray();
        var checks = await LocalStreams.ExchangeAsync(source, target, up, down, oneWayFirst: false);
        while (session.Stats.Sum(s => s.BytesSent) < channels * (long)size / 4) await Task.Delay(5);
        mig.Cut();
        await Task.WhenAll(checks).WaitAsync(TimeSpan.FromSeconds(60));
        var result = await relay.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(channels * (long)size, result.BytesSent);
        Assert.Equal(result.BytesSent, result.BytesConfirmed);
        var moved = failovers.Where(f => f.Channel.StartsWith("channel")).ToList();
        Assert.Equal(channels, moved.Select(f => f.Channel).Distinct().Count());
        Assert.All(moved.GroupBy(f => f.Channel), each => Assert.Equal(("mig", "lan"), (each.First().FromNetwork, each.First().ToNetwork)));
        Assert.All(moved, f => Assert.Equal("lan", f.ToNetwork)); // and stayed there
        Assert.All(moved, f => Assert.True(f.AtBytes > 0 && f.Lost < TimeSpan.FromSeconds(20), $"{f}"));
        Assert.Contains(failovers, f => f.Channel == "the control channel" && f.ToNetwork == "lan");
        var line = await lab.LoggedAsync("came back from");
        Assert.Contains("came back from 127.0.0.1", line);
    }

    [Fact]
    public async Task A_target_that_stops_reading_for_longer_than_the_dead_peer_bound_holds_the_channel_up_but_does_not_break_it()
    {
        const int size = 32 << 20;
        await using var lab = await EngineLab.StartAsync();
        await using var mig = new CuttablePath(MigAddress, lab.AgentEndpoint);
        using var source = new LocalStreams(lab.Directory, "src");
        using var target = new LocalStreams(lab.Directory, "dst");
        var failovers = new ConcurrentQueue<ChannelFailover>();
        await using var session = await EngineSession.OpenAsync(Options(lab, mig, 1, tls: true, TimeSpan.FromSeconds(20), withLan: true, failovers),
            TransferMode.Relay, "qemu", CancellationToken.None);
        var relay = session.RelayAsync((_, cancel) => source.AcceptAsync(cancel), CancellationToken.None);

        var atSource = await source.ConnectAsync();
        var atTarget = await target.AcceptAsync(CancellationToken.None);
        var up = RandomNumberGenerator.GetBytes(size);
        var sending = LocalStreams.SendAllAsync(atSource, up);
        // Like a destination QEMU whose multifd channel waits for the others (while they fail over, say): it reads a
        // little, then nothing for longer than ChannelLink.DeadAfter. The agent is alive and says so.
        var first = new byte[1 << 20];
        var read = await atTarget.ReceiveAsync(first, System.Net.Sockets.SocketFlags.None);
        await Task.Delay(ChannelLink.DeadAfter + TimeSpan.FromSeconds(3));
        var rest = await LocalStreams.ReceiveAllAsync(atTarget);
        await sending;
        atTarget.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        var result = await relay.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(up.AsSpan().SequenceEqual([.. first.AsSpan(0, read), .. rest]), "the stream differs");
        Assert.Equal(size, result.BytesSent);
        Assert.Empty(failovers);
    }

    [Fact]
    public async Task A_synthetic_test_survives_a_link_that_flaps_twice_and_comes_back_on_it_each_time()
    {
        await using var lab = await EngineLab.StartAsync();
        await using var mig = new CuttablePath(MigAddress, lab.AgentEndpoint);
        var failovers = new ConcurrentQueue<ChannelFailover>();
        await using var session = await EngineSession.OpenAsync(Options(lab, mig, 2, tls: true, TimeSpan.FromSeconds(20), withLan: false, failovers),
            TransferMode.Synthetic, null, CancellationToken.None);

        var test = session.SendSyntheticAsync(TimeSpan.FromSeconds(16), CancellationToken.None);
        for (var flap = 0; flap < 2; flap++)
        {
            await Task.Delay(500);
            mig.Cut();
            await Task.Delay(2000);
            mig.Restore();
            for (var i = 0; i < 200 && failovers.Count(f => f.Channel == "channel 0") <= flap; i++) await Task.Delay(50);
        }
        var result = await test.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(result.Channels, c => Assert.Equal(c.BytesSent, c.BytesConfirmed));
        Assert.Equal(2, failovers.Count(f => f.Channel == "channel 0"));
        Assert.All(failovers, f => Assert.Equal(("mig", "mig"), (f.FromNetwork, f.ToNetwork)));
        Assert.All(failovers.Where(f => f.Channel.StartsWith("channel")), f => Assert.True(f.Lost >= TimeSpan.FromSeconds(1.5), $"{f}: the link was down 2 s"));
    }

    [Fact]
    public async Task Both_networks_down_past_the_tolerance_fail_the_session_and_the_agent_lets_go()
    {
        await using var lab = await EngineLab.StartAsync();
        await using var mig = new CuttablePath(MigAddress, lab.AgentEndpoint);
        await using var lan = new CuttablePath(IPAddress.Parse("127.0.0.5"), lab.AgentEndpoint);
        var failovers = new ConcurrentQueue<ChannelFailover>();
        var options = Options(lab, mig, 2, tls: true, TimeSpan.FromSeconds(4), withLan: false, failovers) with
        {
            Failover = [new AgentRoute("lan", EngineLab.Source, lan.Endpoint)],
        };
        await using var session = await EngineSession.OpenAsync(options, TransferMode.Synthetic, null, CancellationToken.None);

        var test = session.SendSyntheticAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        await Task.Delay(500);
        lan.Cut(); // first: a channel that finds 'mig' gone must not find 'lan' still there
        mig.Cut();
        var error = await Assert.ThrowsAsync<ChannelException>(() => test.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains("linkLossToleranceSeconds", error.Message);
        Assert.Contains("'mig'", error.Message);
        Assert.Contains("'lan'", error.Message);
        Assert.Empty(failovers);
        for (var i = 0; i < 100 && lab.Agent.Holding.Sessions > 0; i++) await Task.Delay(100);
        Assert.Equal(0, lab.Agent.Holding.Sessions); // the agent waited its tolerance, then let go
    }

    [Fact]
    public async Task A_channel_that_comes_back_from_a_foreign_address_or_with_a_foreign_certificate_is_refused_and_logged()
    {
        await using var lab = await EngineLab.StartAsync(options => options with { AllowFrom = [IPNetwork.Parse("127.0.0.0/8")] });
        lab.Authority.Addresses = [EngineLab.Source];
        var (id, control) = await RawClient.AskForSessionAsync(lab, new OpenRequest(TransferMode.Synthetic, 1, true, "lo", null, ResumeSeconds: 30));
        await ControlMessage.ExpectAsync<Opened>(control.Stream, CancellationToken.None);
        await using (var data = await RawClient.ConnectTlsAsync(lab.AgentEndpoint, lab.SourceCredentials, "dst"))
            Assert.Equal(HelloStatus.Accepted, (await data.HelloAsync(new Hello(ChannelKind.Data, id, 0, 1, new byte[Hello.TokenSize]))).Status);

        await using var foreignAddress = await RawClient.ConnectTlsAsync(lab.AgentEndpoint, lab.SourceCredentials, "dst", from: IPAddress.Parse("127.0.0.3"));
        var fromElsewhere = await foreignAddress.HelloAsync(new Hello(ChannelKind.Data, id, 0, 1, new byte[Hello.TokenSize]) { Resume = true });
        await using var foreignCertificate = await RawClient.ConnectTlsAsync(lab.AgentEndpoint, lab.ThirdCredentials, "dst");
        var asAnother = await foreignCertificate.HelloAsync(new Hello(ChannelKind.Data, id, 0, 1, new byte[Hello.TokenSize]) { Resume = true });
        await using var controlElsewhere = await RawClient.ConnectTlsAsync(lab.AgentEndpoint, lab.SourceCredentials, "dst", from: IPAddress.Parse("127.0.0.3"));
        var controlFromElsewhere = await controlElsewhere.HelloAsync(Hello.Control(id) with { Resume = true });

        Assert.Equal(HelloStatus.Denied, fromElsewhere.Status);
        Assert.Contains("may come back only from an address of src", fromElsewhere.Reason);
        Assert.Equal(HelloStatus.Denied, asAnother.Status);
        Assert.Contains("belongs to src, not third", asAnother.Reason);
        Assert.Equal(HelloStatus.Denied, controlFromElsewhere.Status);
        Assert.Contains("may come back only from an address of src", controlFromElsewhere.Reason);
        Assert.Contains("127.0.0.3", await lab.LoggedAsync("may come back only from an address of src"));
        Assert.Contains("third", await lab.LoggedAsync("belongs to src, not third"));
        await control.DisposeAsync();
    }
}
