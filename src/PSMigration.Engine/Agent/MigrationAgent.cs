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
/// The destination agent: one TCP port on each of the host's addresses. Every connection must
/// come from an allowed source and open with a hello within <see cref="AgentOptions.HandshakeTimeout"/>;
/// control channels need TLS with a cluster certificate; data channels join an open session with
/// TLS or its token. Anything else is refused with a logged reason, and the agent keeps serving.
/// </summary>
public sealed class MigrationAgent : IAsyncDisposable
{
    private const byte TlsHandshakeRecord = 0x16;
    private readonly AgentOptions options;
    private readonly List<Socket> listeners = new();
    private readonly ConcurrentDictionary<Guid, AgentSession> sessions = new();
    private readonly ConcurrentDictionary<Task, bool> connections = new();
    /// <summary>Relay targets held now: name to the incoming unix socket of a twin, or of libvirt's destination QEMU.</summary>
    private readonly ConcurrentDictionary<string, string> incomingTargets = new();
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> acceptLoops = new();
    private long refused;

    private MigrationAgent(AgentOptions options) => this.options = options;

    public IReadOnlyList<IPEndPoint> Endpoints => listeners.Select(l => (IPEndPoint)l.LocalEndPoint!).ToList();
    /// <summary>Connections turned away so far (not allowed, garbage, bad credentials...).</summary>
    public long Refused => Interlocked.Read(ref refused);

    /// <summary>Binds every address now (so a busy port fails here, naming the address), then serves.</summary>
    public static MigrationAgent Start(AgentOptions options)
    {
        var agent = new MigrationAgent(options);
        try
        {
            foreach (var endpoint in options.Listen)
            {
                var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                agent.listeners.Add(listener);
                SocketTuning.AllowRestartOnPort(listener);
                listener.Bind(endpoint);
                listener.Listen(512);
            }
        }
        catch (SocketException e)
        {
            foreach (var listener in agent.listeners) listener.Dispose();
            throw new MigrationException("AgentListenFailed", FailureKind.OperationFailed,
                $"The agent of {options.HostName} cannot listen on {string.Join(", ", options.Listen)}: {e.Message}", options.HostName, e);
        }
        foreach (var listener in agent.listeners) agent.acceptLoops.Add(agent.AcceptLoopAsync(listener));
        options.Log($"agent of {options.HostName} listening on {string.Join(", ", agent.Endpoints)}");
        return agent;
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stop.Token);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                options.Log($"accept failed on {listener.LocalEndPoint}: {e.Message}");
                continue;
            }
            var task = HandleAsync(socket);
            connections[task] = true;
            _ = task.ContinueWith(t => connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(Socket socket)
    {
        var peer = (IPEndPoint)socket.RemoteEndPoint!;
        var address = peer.Address.IsIPv4MappedToIPv6 ? peer.Address.MapToIPv4() : peer.Address;
        Stream? stream = null;
        DataChannel? channel = null;
        try
        {
            if (!options.AllowFrom.Any(n => n.Contains(address)))
            {
                Refuse(socket, $"refused {peer}: not in the allow-list");
                return;
            }
            SocketTuning.Apply(socket, options.Stall);
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            handshake.CancelAfter(options.HandshakeTimeout);

            (stream, var tls, var peerHost) = await SecureAsync(socket, handshake.Token);
            var helloBytes = new byte[Hello.Size];
            await stream.ReadExactlyAsync(helloBytes, handshake.Token);
            var hello = Hello.Decode(helloBytes);
            channel = new DataChannel(hello.ChannelIndex, socket, stream, peer, options.Stall,
                hello.Kind == ChannelKind.Control ? "the control channel" : null);
            if (hello.Version != Hello.CurrentVersion)
            {
                await ReplyAsync(channel, new HelloReply(HelloStatus.UnsupportedVersion,
                    $"this agent speaks protocol version {Hello.CurrentVersion}, not {hello.Version}"), peer, handshake.Token);
                return;
            }
            if (hello.Kind == ChannelKind.Control)
                await ServeControlAsync(channel, hello, tls, peerHost, address, peer, handshake.Token);
            else
                await ServeDataAsync(channel, hello, tls, peerHost, address, peer, handshake.Token);
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref refused);
            options.Log($"refused {peer}: {FailureText.Of(e, timedOut: "no hello in time", closed: "closed before saying who it is")}");
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
        var secure = new SslStream(plain, leaveInnerStreamOpen: false);
        return (secure, true, await ClusterHandshake.AsServerAsync(secure, options.Credentials, cancel));
    }

    private async Task ServeControlAsync(DataChannel control, Hello hello, bool tls, string? peerHost, IPAddress address,
        IPEndPoint peer, CancellationToken handshake)
    {
        if (!tls || peerHost is null)
        {
            await ReplyAsync(control, new HelloReply(HelloStatus.Denied, "a control channel must use TLS with a cluster certificate"), peer, handshake);
            return;
        }
        await control.WriteAsync(HelloReply.Accepted.Encode(), handshake);
        switch (await ControlMessage.ReadAsync(control.Stream, handshake))
        {
            case OpenRequest request:
                await ServeSessionAsync(control, hello, request, peerHost, address, handshake);
                break;
            case PrepareIncoming prepare:
                await ServeIncomingAsync(control, prepare, peerHost);
                break;
            case PrepareRelay relay:
                await ServeRelayAsync(control, relay, peerHost);
                break;
            case CheckIncoming check:
                await ServeCheckAsync(control, check, peerHost, handshake);
                break;
            case var other:
                throw new ProtocolException($"{peerHost} opened a control channel with {other.GetType().Name}");
        }
    }

    private string? RelayTarget(string name) =>
        incomingTargets.TryGetValue(name, out var path) ? path : options.RelayTargets(name);

    private async Task ServeSessionAsync(DataChannel control, Hello hello, OpenRequest request, string peerHost, IPAddress address,
        CancellationToken handshake)
    {
        string? problem = null;
        if (request.Channels is < 1 or > 255) problem = $"{request.Channels} channels (1 to 255)";
        else if (request.Mode == TransferMode.Relay && RelayTarget(request.RelayTarget ?? "") is null)
            problem = $"no relay target '{request.RelayTarget}' here";
        AgentSession? session = null;
        if (problem is null) // the session sizes itself by the request: only a sane one gets built
        {
            session = new AgentSession(hello.SessionId, request, peerHost, address, options, RelayTarget);
            if (!sessions.TryAdd(hello.SessionId, session)) problem = "a session with this id exists";
        }
        if (problem is not null)
        {
            await new Refused(problem).WriteAsync(control.Stream, handshake);
            throw new ProtocolException($"{peerHost} asked for {problem}");
        }
        try
        {
            await new Opened(session!.Token).WriteAsync(control.Stream, handshake);
            await session.RunControlAsync(control, stop.Token);
        }
        finally
        {
            sessions.TryRemove(hello.SessionId, out _);
            control.Abort();
        }
    }

    /// <summary>Holds an incoming twin for its source: started on request, stopped when the connection
    /// ends uncommitted (cancelled, failed, or the source gone), left running once committed.</summary>
    private async Task ServeIncomingAsync(DataChannel control, PrepareIncoming request, string peerHost)
    {
        if (options.Incoming is null)
        {
            await new Refused($"the agent of {options.HostName} does not start VMs (it has no QEMU configured)").WriteAsync(control.Stream, stop.Token);
            control.Abort();
            return;
        }
        IIncomingVm? twin = null;
        var target = Guid.NewGuid().ToString("N");
        var committed = false;
        try
        {
            using (var preparing = CancellationTokenSource.CreateLinkedTokenSource(stop.Token))
            {
                preparing.CancelAfter(IncomingVmLease.PrepareTimeout);
                twin = await options.Incoming.PrepareAsync(request.Vm, request.Twin, peerHost, preparing.Token);
            }
            if (twin.RelayPath is not null) incomingTargets[target] = twin.RelayPath;
            options.Log($"incoming {request.Vm} from {peerHost}: ready at {twin.Uri}");
            await new IncomingReady(twin.Uri, twin.RelayPath is null ? null : target, twin.QmpPath).WriteAsync(control.Stream, stop.Token);
            var message = await AgentControl.NextAsync(control, options.Stall, stop.Token);
            if (message is not CommitIncoming commit) throw new ProtocolException($"expected CommitIncoming, got {message.GetType().Name}");
            var result = await twin.CommitAsync(commit.Resume, stop.Token);
            committed = true;
            options.Log($"incoming {request.Vm} from {peerHost}: committed, {result.RunState}");
            await result.WriteAsync(control.Stream, stop.Token);
        }
        catch (Exception e)
        {
            var why = e switch
            {
                _ when stop.IsCancellationRequested && e is not MigrationException => "the agent is stopping",
                OperationCanceledException => $"the twin did not start within {IncomingVmLease.PrepareTimeout.TotalSeconds:0} s",
                _ => FailureText.Of(e, timedOut: "the source went away", closed: "the source went away"),
            };
            options.Log($"incoming {request.Vm} from {peerHost}: {(committed ? "" : "stopped, ")}{why}");
            await TryRefuseAsync(control, why);
        }
        finally
        {
            incomingTargets.TryRemove(target, out _);
            if (twin is not null) await twin.DisposeAsync(); // stops it unless committed
            control.Abort();
        }
    }

    /// <summary>Readiness: would this agent take the VM now? Starts nothing; says why not, with the host's
    /// available memory and the interface (and MTU) the check came in on.</summary>
    private async Task ServeCheckAsync(DataChannel control, CheckIncoming check, string peerHost, CancellationToken handshake)
    {
        try
        {
            string? problem = null;
            if (check.Twin is { } twin)
            {
                try
                {
                    problem = options.Incoming is null
                        ? $"the agent of {options.HostName} does not start VMs (it has no QEMU configured)"
                        : await options.Incoming.CheckAsync(check.Vm, twin, handshake);
                }
                catch (MigrationException e)
                {
                    problem = e.Message;
                }
            }
            var local = ((IPEndPoint)control.LocalEndPoint!).Address;
            var nic = HostFacts.InterfaceOf(local);
            options.Log($"check for {check.Vm} from {peerHost}: {problem ?? "it could be taken"}");
            await new IncomingChecked(problem, HostFacts.MemoryAvailableMiB(), nic?.Name, nic?.Mtu).WriteAsync(control.Stream, handshake);
        }
        finally
        {
            control.Abort();
        }
    }

    /// <summary>Lets relay sessions reach a libvirt QEMU's incoming socket while the source holds this
    /// connection; the socket must be one in <see cref="AgentOptions.RelaySocketDirectory"/> (never any
    /// other local socket). The socket file is removed when the connection ends.</summary>
    private async Task ServeRelayAsync(DataChannel control, PrepareRelay relay, string peerHost)
    {
        var problem = RelaySocketProblem(relay.SocketPath);
        if (problem is not null)
        {
            options.Log($"relay for {relay.Vm} from {peerHost}: refused, {problem}");
            await TryRefuseAsync(control, problem);
            control.Abort();
            return;
        }
        var target = Guid.NewGuid().ToString("N");
        incomingTargets[target] = relay.SocketPath;
        var outcome = "ended";
        try
        {
            options.Log($"relay for {relay.Vm} from {peerHost}: ready for {relay.SocketPath}");
            await new IncomingReady("unix://" + relay.SocketPath, target, "").WriteAsync(control.Stream, stop.Token);
            var message = await AgentControl.NextAsync(control, options.Stall, stop.Token);
            throw new ProtocolException($"expected the end of the relay, got {message.GetType().Name}");
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or TimeoutException or OperationCanceledException)
        {
            // the source ended the lease (or went away): the migration is over either way
        }
        catch (ProtocolException e)
        {
            outcome = e.Message;
            await TryRefuseAsync(control, e.Message);
        }
        finally
        {
            incomingTargets.TryRemove(target, out _);
            TryDelete(relay.SocketPath);
            control.Abort();
            options.Log($"relay for {relay.Vm} from {peerHost}: {outcome}");
        }
    }

    private string? RelaySocketProblem(string path)
    {
        var directory = options.RelaySocketDirectory;
        if (directory is null) return $"the agent of {options.HostName} does not relay to libvirt (it has no run directory)";
        var full = Path.GetFullPath(directory);
        if (!Path.IsPathFullyQualified(path) || Path.GetFullPath(path) != path || Path.GetDirectoryName(path) != full.TrimEnd('/'))
            return $"{path} is not in the run directory of {options.HostName}'s agent ({full}); libvirt uses the same socket path on both hosts, " +
                   "so run psmig and the agents with the same --run-dir";
        return Path.GetFileName(path).EndsWith(".libvirt", StringComparison.Ordinal) ? null : $"{path} is not a libvirt migration socket (*.libvirt)";
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // left for the next migration's QEMU, which replaces it
        }
    }

    private static async Task TryRefuseAsync(DataChannel control, string why)
    {
        try
        {
            using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await new Refused(why).WriteAsync(control.Stream, brief.Token);
        }
        catch (Exception)
        {
            // the source is gone; the log has the reason
        }
    }

    private async Task ServeDataAsync(DataChannel channel, Hello hello, bool tls, string? peerHost, IPAddress address,
        IPEndPoint peer, CancellationToken handshake)
    {
        if (!sessions.TryGetValue(hello.SessionId, out var session))
        {
            await ReplyAsync(channel, new HelloReply(HelloStatus.UnknownSession, "no such session"), peer, handshake);
            return;
        }
        var refusal = session.Admit(hello, tls, peerHost, address);
        if (refusal is not null)
        {
            await ReplyAsync(channel, refusal, peer, handshake);
            return;
        }
        // Accepted first, then join: the channel's pumps own the stream from then on.
        await channel.WriteAsync(HelloReply.Accepted.Encode(), handshake);
        if (!session.TryJoin(channel)) throw new ProtocolException($"channel {hello.ChannelIndex} is already connected");
    }

    private async Task ReplyAsync(DataChannel channel, HelloReply reply, IPEndPoint peer, CancellationToken cancel)
    {
        Interlocked.Increment(ref refused);
        options.Log($"refused {peer}: {reply.Reason} ({reply.Status})");
        try
        {
            await channel.WriteAsync(reply.Encode(), cancel);
        }
        finally
        {
            channel.Abort();
        }
    }

    private void Refuse(Socket socket, string why)
    {
        Interlocked.Increment(ref refused);
        options.Log(why);
        SocketTuning.Abort(socket);
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        foreach (var listener in listeners) listener.Dispose();
        foreach (var session in sessions.Values) session.Abort();
        await Task.WhenAll(acceptLoops.Concat(connections.Keys)).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        stop.Dispose();
    }
}
