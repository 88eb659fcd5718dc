using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Tests;

public class ProtocolTests
{
    [Fact]
    public void A_hello_survives_encoding()
    {
        var token = Hello.NewToken();
        var hello = new Hello(ChannelKind.Data, Guid.NewGuid(), 3, 8, token);

        var decoded = Hello.Decode(hello.Encode());

        Assert.Equal(hello.SessionId, decoded.SessionId);
        Assert.Equal((ChannelKind.Data, 3, 8, Hello.CurrentVersion), (decoded.Kind, decoded.ChannelIndex, decoded.ChannelCount, decoded.Version));
        Assert.Equal(token, decoded.Token);
    }

    [Theory]
    [InlineData(0, (byte)'X', "not a PSMigration connection")]
    [InlineData(6, 9, "unknown channel kind 9")]
    [InlineData(7, 2, "reserved bytes")]
    [InlineData(63, 1, "reserved bytes")]
    public void A_malformed_hello_says_what_is_wrong(int offset, byte value, string message)
    {
        var bytes = Hello.Control(Guid.NewGuid()).Encode();
        bytes[offset] = value;

        var error = Assert.Throws<ProtocolException>(() => Hello.Decode(bytes));

        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 4, 9, 0, 0, 0 }, "unknown frame type 9")]
    [InlineData(new byte[] { 0, 0x20, 0, 0, 1, 0, 0, 0 }, "exceeds the limit")]
    [InlineData(new byte[] { 0, 0, 0, 4, 2, 0, 0, 0 }, "End frame carries 8 bytes")]
    [InlineData(new byte[] { 0, 0, 0, 4, 1, 0, 1, 0 }, "reserved bytes")]
    public void A_malformed_frame_header_is_refused(byte[] header, string message)
    {
        var error = Assert.Throws<ProtocolException>(() => FrameHeader.Read(header));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task A_newer_protocol_version_is_refused_with_the_version_the_agent_speaks()
    {
        await using var lab = await EngineLab.StartAsync();
        await using var client = await RawClient.ConnectTlsAsync(lab.AgentEndpoint, lab.SourceCredentials, "dst");

        var reply = await client.HelloAsync(Hello.Control(Guid.NewGuid()) with { Version = 3 });

        Assert.Equal(HelloStatus.UnsupportedVersion, reply.Status);
        Assert.Contains("speaks protocol version 2, not 3", reply.Reason);
    }

    [Fact]
    public async Task A_stream_cut_before_its_end_frame_is_reported_as_truncated()
    {
        await using var lab = await EngineLab.StartAsync();
        // Open a session, then speak the data protocol by hand: a Data frame and no End.
        var opened = await RawClient.OpenSessionAsync(lab, tls: false);
        await using var data = await RawClient.ConnectAsync(lab.AgentEndpoint);
        var reply = await data.HelloAsync(new Hello(ChannelKind.Data, opened.Session, 0, 1, opened.Token));
        Assert.Equal(HelloStatus.Accepted, reply.Status);
        var frame = new byte[FrameHeader.Size + 1000];
        new FrameHeader(FrameType.Data, 1000).Write(frame);
        await data.Stream.WriteAsync(frame);
        data.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        var line = await lab.LoggedAsync($"session {opened.Session.ToString("N")[..8]}");
        Assert.Contains("before the end of the stream", line);
        Assert.Contains("channel 0 after 1000 B", line);
        await opened.Control.DisposeAsync();
    }

    [Fact]
    public async Task An_end_frame_that_disagrees_with_what_arrived_fails_the_session()
    {
        await using var lab = await EngineLab.StartAsync();
        var opened = await RawClient.OpenSessionAsync(lab, tls: false);
        await using var data = await RawClient.ConnectAsync(lab.AgentEndpoint);
        Assert.Equal(HelloStatus.Accepted, (await data.HelloAsync(new Hello(ChannelKind.Data, opened.Session, 0, 1, opened.Token))).Status);
        var frames = new byte[FrameHeader.Size + 10 + FrameHeader.Size + 8];
        new FrameHeader(FrameType.Data, 10).Write(frames);
        new FrameHeader(FrameType.End, 8).Write(frames.AsSpan(FrameHeader.Size + 10));
        frames[^1] = 99; // claims 99 bytes
        await data.Stream.WriteAsync(frames);

        var line = await lab.LoggedAsync($"session {opened.Session.ToString("N")[..8]}");
        Assert.Contains("the peer sent 99 bytes but 10 arrived", line);
        await opened.Control.DisposeAsync();
    }
}
