using System.Net;
using System.Text;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Security;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

public class AgentSecurityTests
{
    [Fact]
    public async Task A_source_outside_the_allow_list_is_refused_and_logged()
    {
        await using var lab = await EngineLab.StartAsync();

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            EngineSession.OpenAsync(lab.Session(1) with { SourceAddress = IPAddress.Parse("127.0.0.3") },
                TransferMode.Synthetic, null, CancellationToken.None));

        Assert.Contains("127.0.0.2", error.Message);
        Assert.Contains("not in the allow-list", await lab.LoggedAsync("127.0.0.3"));
    }

    [Fact]
    public async Task A_certificate_from_another_cluster_is_refused_with_the_reason()
    {
        await using var lab = await EngineLab.StartAsync();
        var otherPki = Path.Combine(lab.Directory, "other-pki");
        ClusterPki.Initialize(Security.PkiHosts.Of(InventoryLoader.Parse(EngineLab.InventoryText, "other.yaml")), otherPki);
        using var stranger = ClusterPki.Load(otherPki, "src");

        var error = await Assert.ThrowsAsync<ChannelException>(() =>
            EngineSession.OpenAsync(lab.Session(1) with { Credentials = stranger }, TransferMode.Synthetic, null, CancellationToken.None));

        // TLS 1.3 checks the server first: the stranger refuses our agent's certificate, and says why.
        Assert.Contains("control channel", error.Message);
        Assert.Contains("not issued by the cluster CA", error.Message);
        Assert.Contains("TLS handshake", await lab.LoggedAsync("refused"));
    }

    [Fact]
    public async Task A_control_channel_without_TLS_is_denied()
    {
        await using var lab = await EngineLab.StartAsync();
        await using var client = await RawClient.ConnectAsync(lab.AgentEndpoint);

        var reply = await client.HelloAsync(Hello.Control(Guid.NewGuid()));

        Assert.Equal(HelloStatus.Denied, reply.Status);
        Assert.Contains("must use TLS", reply.Reason);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1 << 30)]
    public async Task A_session_with_an_impossible_channel_count_is_refused_with_the_reason_before_anything_is_sized(int channels)
    {
        await using var lab = await EngineLab.StartAsync();
        var (_, control) = await RawClient.AskForSessionAsync(lab, new OpenRequest(TransferMode.Synthetic, channels, true, "lo", null));
        await using var _ = control;

        var refused = await Assert.ThrowsAsync<ProtocolException>(() => ControlMessage.ExpectAsync<Opened>(control.Stream, CancellationToken.None));

        Assert.Equal($"{channels} channels (1 to 256)", refused.Message);
        await using var session = await lab.OpenAsync(2); // and the agent serves on
    }

    [Fact]
    public async Task A_session_for_QEMUs_most_multifd_channels_and_its_main_channel_is_opened()
    {
        // 255 multifd channels (QEMU's limit, and the policy's) plus QEMU's main channel: 256 engine channels.
        await using var lab = await EngineLab.StartAsync();
        var (_, control) = await RawClient.AskForSessionAsync(lab, new OpenRequest(TransferMode.Synthetic, 256, true, "lo", null));
        await using var _ = control;

        var opened = await ControlMessage.ExpectAsync<Opened>(control.Stream, CancellationToken.None);

        Assert.NotEmpty(opened.Token);
    }

    [Fact]
    public async Task A_data_channel_with_a_wrong_token_is_refused_and_the_session_goes_on()
    {
        await using var lab = await EngineLab.StartAsync();
        var (id, token, control) = await RawClient.OpenSessionAsync(lab, tls: false);
        await using var _ = control;

        await using var intruder = await RawClient.ConnectAsync(lab.AgentEndpoint);
        var refused = await intruder.HelloAsync(new Hello(ChannelKind.Data, id, 0, 1, Hello.NewToken()));
        await using var owner = await RawClient.ConnectAsync(lab.AgentEndpoint);
        var accepted = await owner.HelloAsync(new Hello(ChannelKind.Data, id, 0, 1, token));

        Assert.Equal(HelloStatus.BadToken, refused.Status);
        Assert.Equal(HelloStatus.Accepted, accepted.Status);
        Assert.Contains("wrong session token", await lab.LoggedAsync("BadToken"));
    }

    [Fact]
    public async Task A_plain_data_channel_is_denied_when_the_session_uses_TLS()
    {
        await using var lab = await EngineLab.StartAsync();
        var (id, token, control) = await RawClient.OpenSessionAsync(lab, tls: true);
        await using var _ = control;

        await using var plain = await RawClient.ConnectAsync(lab.AgentEndpoint);
        var reply = await plain.HelloAsync(new Hello(ChannelKind.Data, id, 0, 1, token));

        Assert.Equal(HelloStatus.Denied, reply.Status);
        Assert.Contains("must use TLS", reply.Reason);
    }

    [Fact]
    public async Task Garbage_on_the_port_is_refused_and_the_agent_keeps_serving()
    {
        await using var lab = await EngineLab.StartAsync();
        await using (var garbage = await RawClient.ConnectAsync(lab.AgentEndpoint))
        {
            await garbage.Stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: dst\r\n\r\n" + new string('x', 40)));
            Assert.True(await garbage.ClosedByAgentAsync(TimeSpan.FromSeconds(5)));
        }
        Assert.Contains("not a PSMigration connection (starts with GET )", await lab.LoggedAsync("refused"));

        await using var session = await lab.OpenAsync(1);
        var result = await session.SendSyntheticAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        Assert.True(result.BytesConfirmed > 0);
    }

    [Fact]
    public async Task A_silent_connection_is_dropped_after_the_handshake_timeout()
    {
        await using var lab = await EngineLab.StartAsync();
        await using var silent = await RawClient.ConnectAsync(lab.AgentEndpoint);

        Assert.True(await silent.ClosedByAgentAsync(TimeSpan.FromSeconds(15)));
        Assert.Contains("no hello in time", await lab.LoggedAsync("refused"));
    }
}
