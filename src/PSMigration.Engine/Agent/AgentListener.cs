using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Security;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>
/// The agent's port: binds every address, accepts, and makes each connection say who it is before anything else:
/// from an allowed source, TLS or plain (sniffed by its first byte), a hello of this protocol version within the
/// handshake timeout. Then the connection goes to the handler of its kind; what fails on the way is refused with a
/// logged reason, and the listener keeps serving.
/// </summary>
internal sealed class AgentListener : IAsyncDisposable
{
    private const byte TlsHandshakeRecord = 0x16;
    private readonly AgentOptions options;
    private readonly AgentLog log;
    private readonly Func<EngineChannel, Hello, AgentPeer, CancellationToken, Task> serve;
    private readonly CancellationToken stopping;
    private readonly List<Socket> listeners = new();
    private readonly ConcurrentDictionary<Task, bool> connections = new();
    private readonly List<Task> acceptLoops = new();

    /// <param name="serve">Takes a connection that said hello, with the handshake's deadline.</param>
    public AgentListener(AgentOptions options, AgentLog log, Func<EngineChannel, Hello, AgentPeer, CancellationToken, Task> serve, CancellationToken stopping)
    {
        this.options = options;
        this.log = log;
        this.serve = serve;
        this.stopping = stopping;
    }

    public IReadOnlyList<IPEndPoint> Endpoints => listeners.Select(l => (IPEndPoint)l.LocalEndPoint!).ToList();

    /// <summary>Binds every address now (so a busy port fails here, naming the address), then accepts.</summary>
    public void Start()
    {
        try
        {
            foreach (var endpoint in options.Listen)
            {
                var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                listeners.Add(listener);
                SocketTuning.AllowRestartOnPort(listener);
                listener.Bind(endpoint);
                listener.Listen(512);
            }
        }
        catch (SocketException e)
        {
            foreach (var listener in listeners) listener.Dispose();
            throw new MigrationException("AgentListenFailed", FailureKind.OperationFailed,
                $"The agent of {options.HostName} cannot listen on {string.Join(", ", options.Listen)}: {e.Message}", options.HostName, e);
        }
        foreach (var listener in listeners) acceptLoops.Add(AcceptLoopAsync(listener));
        log.Listening(options.HostName, Endpoints);
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stopping);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                log.AcceptFailed(listener.LocalEndPoint, e.Message);
                continue;
            }
            var task = HandleAsync(socket);
            connections[task] = true;
            _ = task.ContinueWith(t => connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(Socket socket)
    {
        var endpoint = (IPEndPoint)socket.RemoteEndPoint!;
        var address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        Stream? stream = null;
        EngineChannel? channel = null;
        try
        {
            if (!options.AllowFrom.Any(n => n.Contains(address)))
            {
                log.Refused(endpoint, "not in the allow-list");
                SocketTuning.Abort(socket);
                return;
            }
            SocketTuning.Apply(socket, options.Stall);
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            handshake.CancelAfter(options.HandshakeTimeout);

            (stream, var tls, var peerHost) = await SecureAsync(socket, handshake.Token);
            var helloBytes = new byte[Hello.Size];
            await stream.ReadExactlyAsync(helloBytes, handshake.Token);
            var hello = Hello.Decode(helloBytes);
            channel = new EngineChannel(hello.ChannelIndex, socket, stream, endpoint, options.Stall,
                hello.Kind == ChannelKind.Control ? "the control channel" : null);
            if (hello.Version != Hello.CurrentVersion)
            {
                await AgentControl.ReplyAsync(channel, new HelloReply(HelloStatus.UnsupportedVersion,
                    $"this agent speaks protocol version {Hello.CurrentVersion}, not {hello.Version}"), log, handshake.Token);
                return;
            }
            await serve(channel, hello, new AgentPeer(endpoint, address, tls, peerHost), handshake.Token);
        }
        catch (Exception e)
        {
            log.Refused(endpoint, FailureText.Of(e, timedOut: "no hello in time", closed: "closed before saying who it is"));
            if (channel is not null) channel.Abort();
            else
            {
                SocketTuning.Abort(socket);
                stream?.Dispose();
            }
        }
    }

    /// <summary>TLS when the first byte is a TLS handshake record; plain otherwise (data channels with a token).</summary>
    private async Task<(Stream Stream, bool Tls, string? PeerHost)> SecureAsync(Socket socket, CancellationToken cancel)
    {
        var first = new byte[1];
        var peeked = await socket.ReceiveAsync(first, SocketFlags.Peek, cancel);
        if (peeked == 0) throw new EndOfStreamException();
        var plain = new NetworkStream(socket, ownsSocket: false);
        if (first[0] != TlsHandshakeRecord) return (plain, false, null);
        var batching = new TlsRecordBatching(plain);
        var secure = new SslStream(batching, leaveInnerStreamOpen: false);
        var peerHost = await ClusterHandshake.AsServerAsync(secure, options.Credentials, cancel);
        batching.Batch();
        return (secure, true, peerHost);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in listeners) listener.Dispose();
        await Task.WhenAll(acceptLoops.Concat(connections.Keys)).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
    }
}
