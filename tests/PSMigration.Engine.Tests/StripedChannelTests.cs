using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>
/// A session striped over two networks (<see cref="SessionOptions.Stripe"/>): each data channel goes its own way, bound
/// to its own source address, the agent takes it from any address of the source's host and no other, the session counts
/// what each network carried, and a striped channel whose network breaks fails over within the stripe. "mig" is the
/// source address 127.0.0.1 (or a <see cref="CuttablePath"/>), "lan" the source address 127.0.0.2.
/// </summary>
public class StripedChannelTests
{
    private static readonly IPAddress LanSource = IPAddress.Parse("127.0.0.2");

    private static Task<EngineLab> LabAsync() => EngineLab.StartAsync(options => options with { AllowFrom = [IPNetwork.Parse("127.0.0.0/8")] });

    /// <summary>Channels take the ways in turn: mig, lan, mig, lan, ...</summary>
    private static SessionOptions Striped(EngineLab lab, int channels, AgentRoute mig, AgentRoute lan, TimeSpan tolerance = default,
        ConcurrentQueue<ChannelFailover>? failovers = null) =>
        lab.Session(channels, tls: true) with
        {
            Agent = mig.Agent,
            SourceAddress = mig.SourceAddress,
            Network = mig.Network,
            Failover = [lan],
            Stripe = Enumerable.Range(0, channels).Select(i => i % 2 == 0 ? mig : lan).ToList(),
            LinkLossTolerance = tolerance,
            FailedOver = failovers is null ? null : failovers.Enqueue,
        };

    [Fact]
    public async Task Each_striped_channel_joins_from_its_own_address_and_the_session_counts_what_each_network_carried()
    {
        const int channels = 4;
        const int size = 8 << 20;
        await using var lab = await LabAsync();
        using var source = new LocalStreams(lab.Directory, "src");
        using var target = new LocalStreams(lab.Directory, "dst");
        var options = Striped(lab, channels, new AgentRoute("mig", EngineLab.Source, lab.AgentEndpoint), new AgentRoute("lan", LanSource, lab.AgentEndpoint));
        await using var session = await EngineSession.OpenAsync(options, TransferMode.Relay, "qemu", CancellationToken.None);
        var relay = session.RelayAsync((_, cancel) => source.AcceptAsync(cancel), CancellationToken.None);

        var up = Enumerable.Range(0, channels).Select(_ => RandomNumberGenerator.GetBytes(size)).ToArray();
        var down = Enumerable.Range(0, channels).Select(_ => RandomNumberGenerator.GetBytes(size / 8)).ToArray();
        await Task.WhenAll(await LocalStreams.ExchangeAsync(source, target, up, down, oneWayFirst: false)).WaitAsync(TimeSpan.FromSeconds(60));
        var result = await relay.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(result.BytesSent, result.BytesConfirmed);
        var networks = session.Networks.ToDictionary(n => n.Network!);
        Assert.Equal(["mig", "lan"], session.Networks.Select(n => n.Network));
        Assert.All(networks.Values, n => Assert.Equal(2, n.Connections));
        Assert.All(networks.Values, n => Assert.Equal(2 * (size + size / 8), n.Bytes)); // nothing else went over either
        Assert.Contains("joined from 127.0.0.2, another address of src", await lab.LoggedAsync("channel 1 joined from"));
    }

    [Fact]
    public async Task A_striped_channel_from_an_address_that_is_not_the_source_hosts_is_refused_and_the_session_does_not_open()
    {
        await using var lab = await LabAsync();
        lab.Authority.Addresses = [EngineLab.Source];
        var options = Striped(lab, 2, new AgentRoute("mig", EngineLab.Source, lab.AgentEndpoint), new AgentRoute("lan", LanSource, lab.AgentEndpoint));

        var error = await Assert.ThrowsAsync<ChannelException>(() => EngineSession.OpenAsync(options, TransferMode.Synthetic, null, CancellationToken.None));

        Assert.Contains("127.0.0.2 is not an address of src", error.Message);
        Assert.Contains("127.0.0.2", await lab.LoggedAsync("is not an address of src"));
    }

    [Fact]
    public async Task A_striped_channel_whose_network_is_cut_goes_on_over_the_other_one_and_the_bytes_count_for_both()
    {
        await using var lab = await LabAsync();
        await using var mig = new CuttablePath(IPAddress.Parse("127.0.0.4"), lab.AgentEndpoint);
        var failovers = new ConcurrentQueue<ChannelFailover>();
        var options = Striped(lab, 2, new AgentRoute("mig", EngineLab.Source, mig.Endpoint), new AgentRoute("lan", LanSource, lab.AgentEndpoint),
            TimeSpan.FromSeconds(20), failovers);
        await using var session = await EngineSession.OpenAsync(options, TransferMode.Synthetic, null, CancellationToken.None);

        var test = session.SendSyntheticAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        await Task.Delay(1000);
        var migBeforeCut = session.Stats[0].Carried;
        mig.Cut();
        var result = await test.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(result.Channels, c => Assert.Equal(c.BytesSent, c.BytesConfirmed));
        var moved = Assert.Single(failovers, f => f.Channel.StartsWith("channel", StringComparison.Ordinal));
        Assert.Equal(("channel 0", "mig", "lan"), (moved.Channel, moved.FromNetwork, moved.ToNetwork));
        var networks = session.Networks.ToDictionary(n => n.Network!);
        Assert.Equal(1, networks["mig"].Connections);
        Assert.Equal(1, networks["lan"].Connections);
        Assert.InRange(networks["mig"].Bytes, migBeforeCut, moved.AtBytes);
        Assert.Equal(result.BytesSent + result.BytesReceived, networks["mig"].Bytes + networks["lan"].Bytes);
    }
}
