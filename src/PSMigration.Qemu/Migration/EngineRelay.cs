using System.Net.Sockets;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Accounts;

namespace PSMigration.Qemu.Migration;

/// <summary>The engine transport on the source: a unix socket the source QEMU migrates to, each of its
/// connections (the main channel first, then every multifd channel) relayed over its own engine
/// connection to the agent's relay target.</summary>
internal sealed class EngineRelay : IAsyncDisposable
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);
    private readonly string socketPath;
    private readonly Socket listener;
    private EngineSession? session;
    private Task<TransferResult>? relay;

    private EngineRelay(string socketPath, Socket listener)
    {
        this.socketPath = socketPath;
        this.listener = listener;
    }

    /// <summary>Connections QEMU makes to the socket: its main channel, then one per multifd channel.</summary>
    public static int Streams(Core.Planning.MigrationPlan plan) => plan.Parallel ? plan.Connections + 1 : 1;

    /// <summary>Completes (never successfully) when the relay fails.</summary>
    public Task Failed { get; private set; } = Task.Delay(Timeout.Infinite);
    public Exception? Fault => relay is { IsFaulted: true } ? relay.Exception!.GetBaseException() : null;

    /// <param name="qemuAccount">Who the source QEMU runs as: the socket becomes its, so a QEMU that dropped root can connect.</param>
    public static async Task<EngineRelay> StartAsync(string socketPath, UnixAccount? qemuAccount, SessionOptions options, string? relayTarget, CancellationToken cancel)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var engine = new EngineRelay(socketPath, listener);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(socketPath)!);
            File.Delete(socketPath);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            if (qemuAccount is { IsCurrent: false }) qemuAccount.Own(socketPath);
            listener.Listen(options.Channels);
            engine.session = await EngineSession.OpenAsync(options, TransferMode.Relay, relayTarget, cancel);
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
        engine.relay = engine.session.RelayAsync((_, token) => listener.AcceptAsync(token).AsTask(), CancellationToken.None);
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

    public async ValueTask DisposeAsync()
    {
        if (session is not null) await session.DisposeAsync();
        listener.Dispose();
        File.Delete(socketPath);
    }
}
