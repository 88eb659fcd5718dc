using System.Collections.Concurrent;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>The agent's transfer sessions: a control channel opens one (<see cref="OpenRequest"/>: synthetic data to
/// drop, or streams to relay to a held target), and its data channels join it, each checked against the session.</summary>
internal sealed class SessionHandler(AgentOptions options, AgentLog log, RelayTargets targets, ControlRejoins rejoins, CancellationToken stopping)
{
    private readonly ConcurrentDictionary<Guid, AgentSession> sessions = new();

    public async Task OpenAsync(EngineChannel control, Hello hello, OpenRequest request, AgentPeer peer, CancellationToken handshake)
    {
        string? problem = null;
        if (request.Channels is < 1 or > Hello.MaxChannels) problem = $"{request.Channels} channels (1 to {Hello.MaxChannels})";
        else if (request.Mode == TransferMode.Relay)
            problem = targets.Refusal(request.RelayTarget, peer.Host!) ?? (request.LeadTarget is null ? null : targets.Refusal(request.LeadTarget, peer.Host!));
        AgentSession? session = null;
        if (problem is null) // the session sizes itself by the request: only a sane one gets built
        {
            session = new AgentSession(hello.SessionId, request, peer.Host!, peer.Address, options, log, name => targets.Find(name, peer.Host!), rejoins);
            if (!sessions.TryAdd(hello.SessionId, session)) problem = "a session with this id exists";
        }
        if (problem is not null)
        {
            await new Refused(problem).WriteAsync(control.Stream, handshake);
            throw new ProtocolException($"{peer.Host} asked for {problem}");
        }
        try
        {
            await new Opened(session!.Token).WriteAsync(control.Stream, handshake);
            await session.RunControlAsync(control, stopping);
        }
        finally
        {
            sessions.TryRemove(hello.SessionId, out _);
            control.Abort();
        }
    }

    /// <summary>A data channel joins its session, or comes back to it, if the session knows it (size, TLS or token, the
    /// same source, or for a channel that comes back any address of the source's host).</summary>
    public async Task JoinAsync(EngineChannel channel, Hello hello, AgentPeer peer, CancellationToken handshake)
    {
        if (!sessions.TryGetValue(hello.SessionId, out var session))
        {
            await AgentControl.ReplyAsync(channel, new HelloReply(HelloStatus.UnknownSession, "no such session"), log, handshake);
            return;
        }
        var refusal = session.Admit(hello, peer.Tls, peer.Host, peer.Address);
        if (refusal is not null)
        {
            await AgentControl.ReplyAsync(channel, refusal, log, handshake);
            return;
        }
        // Accepted first, then join: the channel's pumps own the stream from then on.
        await channel.WriteAsync(HelloReply.Accepted.Encode(), handshake);
        if (!session.TryJoin(channel, hello.Resume)) throw new ProtocolException($"channel {hello.ChannelIndex} is already connected");
    }

    public int Count => sessions.Count;

    public void AbortAll()
    {
        foreach (var session in sessions.Values) session.Abort();
    }
}
