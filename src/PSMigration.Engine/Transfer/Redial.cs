using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Transfer;

/// <summary>How the source brings back a broken connection: a resume hello for the same channel, over the network it was
/// on first (a link that flapped), then over each other way in the plan's order, round after round until the deadline.
/// The agent saying no ends it at once: its answer will not change; so does every way refusing the connection in a round
/// (the agent is not running: its sessions died with it).</summary>
internal static class Redial
{
    /// <summary>One attempt's bound: a cut link answers nothing, and the next way should get its turn soon.</summary>
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan BetweenRounds = TimeSpan.FromMilliseconds(250);

    public static async Task<Rejoined> ResumeAsync(SessionOptions options, Hello hello, bool tls, string what, string? network,
        DateTime deadline, CancellationToken cancel)
    {
        var routes = options.Routes.OrderBy(r => r.Network == network ? 0 : 1).ToList(); // stable: the rest keep the plan's order
        var failures = new Dictionary<AgentRoute, string>();
        for (var round = 0; ; round++)
        {
            var refused = 0;
            foreach (var route in routes)
            {
                var left = deadline - DateTime.UtcNow;
                if (round == 0 && left < AttemptTimeout) left = AttemptTimeout; // a break noticed late still gets one try each way
                if (left <= TimeSpan.Zero)
                    throw new ChannelException($"no connection came back within the {options.LinkLossTolerance.TotalSeconds:0} s of linkLossToleranceSeconds " +
                                               $"({(failures.Count == 0 ? "no attempt finished" : string.Join("; ", failures.Select(f => $"{f.Key}: {f.Value}")))})");
                try
                {
                    var attempt = options.Over(route) with { ConnectTimeout = left < AttemptTimeout ? left : AttemptTimeout };
                    return new Rejoined(await AgentConnector.ConnectAsync(attempt, hello with { Resume = true }, tls, what, cancel), route.Network);
                }
                catch (ChannelException e) when (!e.Refused && !cancel.IsCancellationRequested)
                {
                    failures[route] = e.Message;
                    if (e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused }) refused++;
                }
            }
            if (refused == routes.Count)
                throw new ChannelException($"the agent is not running: every way to it refuses the connection ({string.Join("; ", failures.Select(f => $"{f.Key}: {f.Value}"))})");
            await Task.Delay(BetweenRounds, cancel);
        }
    }
}
