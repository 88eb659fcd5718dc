using System.Net;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>
/// The destination agent: one TCP port on each of the host's addresses (<see cref="AgentListener"/>). Every connection
/// must come from an allowed source and say hello in time; a control channel needs TLS with a cluster certificate and
/// says what it wants in its first message: a transfer session (<see cref="SessionHandler"/>, whose data channels join
/// it), an incoming twin (<see cref="TwinHandler"/>) and the recovery of its broken post-copy (<see cref="RecoveryHandler"/>), leave to relay to libvirt (<see cref="RelayLeaseHandler"/>), or a
/// readiness check (<see cref="CheckHandler"/>), or a migration of one of this host's VMs for a caller on another host
/// (<see cref="OutgoingHandler"/>). A session's and a twin's control channels outlive a broken connection: the source may
/// bring another with a resume hello (<see cref="ControlRejoins"/>). Anything else is refused with a logged reason, and the
/// agent keeps serving.
/// </summary>
public sealed class MigrationAgent : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly AgentLog log;
    private readonly AgentListener listener;
    private readonly SessionHandler sessions;
    private readonly TwinHandler twins;
    private readonly RecoveryHandler recoveries;
    private readonly RelayLeaseHandler relays;
    private readonly CheckHandler checks;
    private readonly OutgoingHandler outgoing;
    private readonly RelayTargets targets;
    private readonly ControlRejoins rejoins;

    private MigrationAgent(AgentOptions options)
    {
        log = new AgentLog(options.Log);
        targets = new RelayTargets(options.RelayTargets);
        rejoins = new ControlRejoins(options.Authority);
        sessions = new SessionHandler(options, log, targets, rejoins, stop.Token);
        var postcopies = new PostcopyArrivals();
        twins = new TwinHandler(options, log, targets, postcopies, rejoins, stop.Token);
        recoveries = new RecoveryHandler(options, log, targets, postcopies, stop.Token);
        relays = new RelayLeaseHandler(options, log, targets, stop.Token);
        checks = new CheckHandler(options, log);
        outgoing = new OutgoingHandler(options, log, stop.Token);
        listener = new AgentListener(options, log, ServeAsync, stop.Token);
    }

    public IReadOnlyList<IPEndPoint> Endpoints => listener.Endpoints;
    /// <summary>Connections turned away so far (not allowed, garbage, bad credentials...).</summary>
    public long Refused => log.Refusals;

    /// <summary>What the agent holds for sources now: open sessions, and leased relay targets (twins' and libvirt's sockets).
    /// Both are zero when no migration or test runs.</summary>
    public (int Sessions, int RelayTargets) Holding => (sessions.Count, targets.Count);

    /// <summary>Binds every address now (so a busy port fails here, naming the address), then serves.</summary>
    public static MigrationAgent Start(AgentOptions options)
    {
        var agent = new MigrationAgent(options);
        agent.listener.Start();
        return agent;
    }

    /// <summary>A connection that said hello: a data channel joins its session; a control channel, over TLS with a
    /// cluster certificate, goes to the handler of its first message.</summary>
    private async Task ServeAsync(EngineChannel channel, Hello hello, AgentPeer peer, CancellationToken handshake)
    {
        if (hello.Kind != ChannelKind.Control)
        {
            await sessions.JoinAsync(channel, hello, peer, handshake);
            return;
        }
        if (!peer.Tls || peer.Host is null)
        {
            await AgentControl.ReplyAsync(channel, new HelloReply(HelloStatus.Denied, "a control channel must use TLS with a cluster certificate"), log, handshake);
            return;
        }
        if (hello.Resume)
        {
            await ResumeControlAsync(channel, hello, peer, handshake);
            return;
        }
        await channel.WriteAsync(HelloReply.Accepted.Encode(), handshake);
        ControlMessage first;
        try
        {
            first = await ControlMessage.ReadAsync(channel.Stream, handshake);
        }
        catch (EndOfStreamException)
        {
            throw new ProtocolException($"{peer.Host} closed its control channel before asking for anything");
        }
        switch (first)
        {
            case OpenRequest request:
                await sessions.OpenAsync(channel, hello, request, peer, handshake);
                break;
            case PrepareIncoming prepare:
                await twins.ServeAsync(channel, hello.SessionId, prepare, peer.Host);
                break;
            case RecoverIncoming recover:
                await recoveries.ServeAsync(channel, recover, peer.Host);
                break;
            case PrepareRelay relay:
                await relays.ServeAsync(channel, relay, peer.Host);
                break;
            case CheckIncoming check:
                await checks.ServeAsync(channel, check, peer.Host, handshake);
                break;
            case MigrateOutgoing migrate:
                await outgoing.ServeAsync(channel, migrate, peer.Host);
                break;
            case var other:
                throw new ProtocolException($"{peer.Host} opened a control channel with {other.GetType().Name}");
        }
    }

    /// <summary>A control channel comes back on a new connection (maybe from another of its host's addresses).</summary>
    private async Task ResumeControlAsync(EngineChannel channel, Hello hello, AgentPeer peer, CancellationToken handshake)
    {
        if (rejoins.Refusal(hello.SessionId, peer.Host, peer.Address, out var control) is { } refusal)
        {
            await AgentControl.ReplyAsync(channel, refusal, log, handshake);
            return;
        }
        await channel.WriteAsync(HelloReply.Accepted.Encode(), handshake);
        log.Session($"control channel {hello.SessionId.ToString("N")[..8]} of {peer.Host} came back from {peer.EndPoint}");
        control!.Offer(channel);
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        sessions.AbortAll();
        await listener.DisposeAsync();
        stop.Dispose();
    }
}
