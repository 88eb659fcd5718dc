using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>How the agent speaks on a connection: reading the control channel (pings are answered here, and silence for
/// twice the stall bound means the source is gone), and saying no (a hello's answer, or a refusal on the control channel).</summary>
internal static class AgentControl
{
    public static Task<ControlMessage> NextAsync(EngineChannel control, TimeSpan stall, CancellationToken cancel) =>
        NextAsync(control, ControlChannel.SilenceLimit(stall), cancel, null);

    /// <param name="silence">How long the source may say nothing (it pings every second).</param>
    /// <param name="writes">Held while answering a ping, when the channel has other writers.</param>
    public static async Task<ControlMessage> NextAsync(EngineChannel control, TimeSpan silence, CancellationToken cancel, SemaphoreSlim? writes)
    {
        while (true)
        {
            var message = await ControlMessage.ReadAsync(control.Stream, cancel).WaitAsync(silence, cancel);
            if (message is not Ping ping) return message;
            if (writes is not null) await writes.WaitAsync(cancel);
            try
            {
                await new Pong(ping.Sequence).WriteAsync(control.Stream, cancel);
            }
            finally
            {
                writes?.Release();
            }
        }
    }

    /// <summary>Turns a connection away with the hello's answer, logged.</summary>
    public static async Task ReplyAsync(EngineChannel channel, HelloReply reply, AgentLog log, CancellationToken cancel)
    {
        log.Refused(channel.Peer, $"{reply.Reason} ({reply.Status})");
        try
        {
            await channel.WriteAsync(reply.Encode(), cancel);
        }
        finally
        {
            channel.Abort();
        }
    }

    /// <summary>Says why on the control channel, if the source is still there to read it (the log has the reason anyway).</summary>
    public static async Task TryRefuseAsync(EngineChannel control, string why)
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
}
