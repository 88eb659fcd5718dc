using System.Net.Security;
using System.Net.Sockets;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Security;

namespace PSMigration.Engine.Transfer;

/// <summary>How the source reaches an agent: one place that connects a channel (TCP from the chosen
/// source address, TLS with the cluster certificates when asked, then the hello and its answer).</summary>
internal static class AgentConnector
{
    /// <summary>Connects one channel: TCP from the source address, TLS when asked, then the hello and its answer.</summary>
    public static async Task<EngineChannel> ConnectAsync(SessionOptions options, Hello hello, bool tls, string what, CancellationToken cancel)
    {
        var log = options.Log;
        if (log.DebugEnabled) log.Debug($"{what}: connecting to {options.AgentName} from {options.SourceAddress?.ToString() ?? "any address"}{(tls ? ", TLS" : ", plain with the session token")}");
        Socket socket;
        try
        {
            socket = await SocketTuning.ConnectAsync(options.SourceAddress, options.Agent, options.ConnectTimeout, options.Stall, cancel);
        }
        catch (SocketException e)
        {
            throw ChannelException.From(e, options.Agent, what, 0);
        }
        Stream plain = new NetworkStream(socket, ownsSocket: false);
        var batching = tls ? new TlsRecordBatching(plain) : null;
        var secure = batching is not null ? new SslStream(batching, leaveInnerStreamOpen: false) : null;
        var channel = new EngineChannel(hello.ChannelIndex, socket, secure ?? plain, options.Agent, options.Stall,
            hello.Kind == ChannelKind.Control ? "the control channel" : null);
        try
        {
            if (secure is not null)
            {
                using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                timer.CancelAfter(options.ConnectTimeout);
                await ClusterHandshake.AsClientAsync(secure, options.Credentials, options.AgentHost, timer.Token);
                batching!.Batch();
                var tlsSays = $"{secure.SslProtocol}, {secure.NegotiatedCipherSuite}; its certificate names {options.AgentHost} and comes from the cluster CA (this host shows {options.Credentials.HostName}'s)";
                if (hello.Kind == ChannelKind.Control) log.Verbose($"{options.AgentName}: TLS up from {socket.LocalEndPoint}: {tlsSays}");
                else if (log.DebugEnabled) log.Debug($"{what}: TLS up from {socket.LocalEndPoint}: {tlsSays}");
            }
            if (log.DebugEnabled) log.Debug($"{what}: hello {hello.Kind}, protocol {hello.Version}, session {hello.SessionId}, channel {hello.ChannelIndex} of {hello.ChannelCount}");
            await channel.WriteAsync(hello.Encode(), cancel);
            var reply = await HelloReply.ReadAsync(channel.Stream, cancel).WaitAsync(options.ConnectTimeout, cancel);
            if (log.DebugEnabled) log.Debug($"{what}: the agent answers {reply.Status}{(reply.Reason is { Length: > 0 } r ? ": " + r : "")}");
            if (reply.Status != HelloStatus.Accepted)
                throw new ChannelException($"the agent at {options.Agent} refused {what}: {reply.Reason} ({reply.Status})") { Refused = true };
            return channel;
        }
        catch (Exception e) when (e is not ChannelException && !cancel.IsCancellationRequested)
        {
            channel.Abort();
            throw new ChannelException($"{what} to {options.Agent} failed: {FailureText.Of(e)}", e);
        }
        catch
        {
            channel.Abort();
            throw;
        }
    }
}
