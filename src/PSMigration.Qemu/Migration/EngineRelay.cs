using System.Net.Sockets;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Accounts;

namespace PSMigration.Qemu.Migration;

/// <summary>The engine transport on the source: a unix socket the source QEMU migrates to, each of its
/// connections (the main channel first, then every multifd channel) relayed over its own engine
/// connection to the agent's relay target. With a disk copy, a second socket takes the NBD clients' connections
/// (one per disk, in disk order), relayed first, over channels of the same session, to the twin's NBD server.</summary>
internal sealed class EngineRelay : IAsyncDisposable
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);
    private readonly List<(string Path, Socket Listener)> listeners = new();
    private EngineSession? session;
    private Task<TransferResult>? relay;
    private readonly Dictionary<string, (int Accepted, int Raised)> peers = new();

    /// <summary>The disks' NBD streams: <paramref name="Count"/> connections to <paramref name="SocketPath"/>, relayed to
    /// the agent's <paramref name="RelayTarget"/>.</summary>
    public sealed record DiskStreams(string SocketPath, int Count, string RelayTarget);

    /// <summary>Connections QEMU makes to the socket: its main channel, then one per multifd channel.</summary>
    public static int Streams(Core.Planning.MigrationPlan plan) => plan.Parallel ? plan.Connections + 1 : 1;

    /// <summary>Completes (never successfully) when the relay fails.</summary>
    public Task Failed { get; private set; } = Task.Delay(Timeout.Infinite);
    public Exception? Fault => relay is { IsFaulted: true } ? relay.Exception!.GetBaseException() : null;

    /// <param name="qemuAccount">Who the source QEMU runs as: the socket becomes its, so a QEMU that dropped root can connect.</param>
    public static async Task<EngineRelay> StartAsync(string socketPath, UnixAccount? qemuAccount, SessionOptions options, string? relayTarget,
        DiskStreams? disks, CancellationToken cancel)
    {
        var engine = new EngineRelay();
        (string Path, Socket Listener) listener, diskListener;
        try
        {
            listener = engine.Listen(socketPath, qemuAccount, options.Channels);
            diskListener = disks is null ? listener : engine.Listen(disks.SocketPath, qemuAccount, disks.Count);
            engine.session = await EngineSession.OpenAsync(options, TransferMode.Relay, relayTarget, cancel,
                disks is null ? null : new LeadStreams(disks.RelayTarget, disks.Count));
        }
        catch (ChannelException e)
        {
            await engine.DisposeAsync();
            throw new MigrationException("EngineFailed", FailureKind.OperationFailed, e.Message, options.AgentHost, e);
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
        var diskCount = disks?.Count ?? 0;
        engine.relay = engine.session.RelayAsync(async (index, token) =>
        {
            var (path, from) = index < diskCount ? diskListener : listener;
            var accepted = await from.AcceptAsync(token);
            engine.RaiseSendBuffer(accepted, path, options.Log);
            return accepted;
        }, CancellationToken.None);
        engine.Failed = engine.relay.ContinueWith(_ => { }, TaskContinuationOptions.OnlyOnFaulted);
        return engine;
    }

    /// <summary>Bytes carried on each connection; a relay that does not end cleanly is a warning, with the engine's own counts.</summary>
    public async Task<IReadOnlyList<long>> CountsAsync(List<string> warnings)
    {
        try
        {
            return (await relay!.WaitAsync(SettleTimeout)).Channels.Select(c => c.BytesSent).ToList();
        }
        catch (Exception e)
        {
            warnings.Add($"The engine's connections did not close cleanly after the migration: {e.GetBaseException().Message}");
            return session!.Stats.Select(s => s.BytesSent).ToList();
        }
    }

    public void Abort() => session?.Abort();

    /// <summary>What each network carried so far, with how many connections started on it.</summary>
    public IReadOnlyList<NetworkCarried> Networks => session?.Networks ?? [];

    /// <summary>Bytes sent so far over all its connections, without waiting for the relay to end.</summary>
    public long SentSoFar => session?.Stats.Sum(s => s.BytesSent) ?? 0;

    /// <summary>QEMU's end of a connection it just made gets a larger send buffer (<see cref="PeerSendBuffer"/>); where that
    /// is not allowed, the migration goes on at the system's default, said once.</summary>
    private void RaiseSendBuffer(Socket accepted, string path, IActivityLog log)
    {
        var (count, raised) = peers.GetValueOrDefault(path);
        count++;
        // Connections are accepted in the order QEMU made them, and a raise covers every one made so far: once it covered
        // this one, QEMU's descriptors need not be walked again.
        if (count > raised)
        {
            try
            {
                var (pid, now) = PeerSendBuffer.Raise(accepted, path);
                raised += now;
                if (now > 0) log.Debug($"engine: the send buffer of {now} socket(s) of QEMU (pid {pid}) to {path} raised to {PeerSendBuffer.Size >> 20} MiB");
            }
            catch (Exception e) when (e is IOException or SocketException or UnauthorizedAccessException)
            {
                raised = int.MaxValue; // not allowed: not tried again for this socket's later connections
                log.Verbose($"engine: QEMU's connections to {path} keep the system's send buffer (net.core.wmem_default), so QEMU waits more often in its writes: {e.Message}");
            }
        }
        peers[path] = (count, raised);
    }

    /// <summary>A unix socket for the source QEMU, given to its account (a QEMU that dropped root must connect to it).</summary>
    private (string Path, Socket Listener) Listen(string path, UnixAccount? qemuAccount, int backlog)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listeners.Add((path, listener));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Delete(path);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        if (qemuAccount is { IsCurrent: false }) qemuAccount.Own(path);
        listener.Listen(backlog);
        return (path, listener);
    }

    public async ValueTask DisposeAsync()
    {
        if (session is not null) await session.DisposeAsync();
        foreach (var (path, listener) in listeners)
        {
            listener.Dispose();
            File.Delete(path);
        }
    }
}
