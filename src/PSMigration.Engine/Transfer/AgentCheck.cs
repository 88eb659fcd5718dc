using System.Diagnostics;
using System.Text.Json;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>The agent's answer to a readiness check, and how long the round trip took.</summary>
public sealed record AgentCheckResult(IncomingChecked Answer, TimeSpan RoundTrip);

/// <summary>Readiness (Test-VMMigration): asks a destination agent, over the planned network with the
/// cluster certificates, whether it could take a VM now. Nothing is started there.</summary>
public static class AgentCheck
{
    /// <param name="twin">The twin it would start, for its incoming-VM host; null for a VM it starts none for (libvirt).</param>
    public static async Task<AgentCheckResult> AskAsync(SessionOptions options, string vm, JsonElement? twin, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var connection = await AgentConnector.ConnectAsync(options, Hello.Control(Guid.NewGuid()), tls: true, "the control channel", cancel);
        try
        {
            await new CheckIncoming(vm, twin).WriteAsync(connection.Stream, cancel, options.Log);
            var answer = await ControlMessage.ExpectAsync<IncomingChecked>(connection.Stream, cancel, options.Log).WaitAsync(options.Stall, cancel);
            return new AgentCheckResult(answer, clock.Elapsed);
        }
        catch (Exception e) when (e is ProtocolException or TimeoutException or IOException)
        {
            throw new ChannelException($"{options.AgentName} did not answer the readiness check: {e.Message}", e);
        }
        finally
        {
            connection.Abort();
        }
    }
}
