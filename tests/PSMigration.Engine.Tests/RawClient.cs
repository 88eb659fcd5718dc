using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Tests;

/// <summary>A hand-driven connection to an agent, for sending exactly the bytes a test wants.</summary>
internal sealed class RawClient : IAsyncDisposable
{
    private RawClient(Socket socket, Stream stream)
    {
        Socket = socket;
        Stream = stream;
    }

    public Socket Socket { get; }
    public Stream Stream { get; }

    public static async Task<RawClient> ConnectAsync(IPEndPoint agent, IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(from ?? EngineLab.Source, 0));
        await socket.ConnectAsync(agent);
        return new RawClient(socket, new NetworkStream(socket, ownsSocket: true));
    }

    public static async Task<RawClient> ConnectTlsAsync(IPEndPoint agent, HostCredentials credentials, string agentHost, IPAddress? from = null)
    {
        var plain = await ConnectAsync(agent, from);
        var secure = new SslStream(plain.Stream);
        await ClusterHandshake.AsClientAsync(secure, credentials, agentHost, CancellationToken.None);
        return new RawClient(plain.Socket, secure);
    }

    /// <summary>Opens a one-channel synthetic session by hand, as the engine would, and returns its id,
    /// the data channels' token and the open control channel (the session lives while it does).</summary>
    public static async Task<(Guid Session, byte[] Token, RawClient Control)> OpenSessionAsync(EngineLab lab, bool tls)
    {
        var (id, control) = await AskForSessionAsync(lab, new OpenRequest(TransferMode.Synthetic, 1, tls, "lo", null));
        var opened = await ControlMessage.ExpectAsync<Opened>(control.Stream, CancellationToken.None);
        return (id, opened.Token, control);
    }

    /// <summary>An authenticated control channel that has sent <paramref name="request"/>; the answer is the caller's to read.</summary>
    public static async Task<(Guid Session, RawClient Control)> AskForSessionAsync(EngineLab lab, OpenRequest request)
    {
        var id = Guid.NewGuid();
        var control = await ConnectTlsAsync(lab.AgentEndpoint, lab.SourceCredentials, "dst");
        var reply = await control.HelloAsync(Hello.Control(id));
        if (reply.Status != HelloStatus.Accepted) throw new Xunit.Sdk.XunitException($"control refused: {reply}");
        await request.WriteAsync(control.Stream, CancellationToken.None);
        return (id, control);
    }

    public async Task<HelloReply> HelloAsync(Hello hello)
    {
        await Stream.WriteAsync(hello.Encode());
        return await HelloReply.ReadAsync(Stream, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>Whether the agent closed the connection within <paramref name="within"/>.</summary>
    public async Task<bool> ClosedByAgentAsync(TimeSpan within)
    {
        var buffer = new byte[4096];
        using var timer = new CancellationTokenSource(within);
        try
        {
            while (await Stream.ReadAsync(buffer, timer.Token) > 0)
            {
            }
            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync() => await Stream.DisposeAsync();
}
