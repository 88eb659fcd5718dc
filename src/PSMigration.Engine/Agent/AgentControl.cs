using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>The agent's reading of a control channel: pings are answered here, and silence for twice
/// the stall bound (the source pings every second) means the source is gone.</summary>
internal static class AgentControl
{
    public static async Task<ControlMessage> NextAsync(DataChannel control, TimeSpan stall, CancellationToken cancel)
    {
        var silence = ControlChannel.SilenceLimit(stall);
        while (true)
        {
            var message = await ControlMessage.ReadAsync(control.Stream, cancel).WaitAsync(silence, cancel);
            if (message is not Ping ping) return message;
            await new Pong(ping.Sequence).WriteAsync(control.Stream, cancel);
        }
    }
}
