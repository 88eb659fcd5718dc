using System.Diagnostics;

namespace PSMigration.Engine.Transfer;

/// <summary>A token bucket shared by every channel of a session, so the cap holds for the whole transfer.</summary>
internal sealed class BandwidthLimiter(double bytesPerSecond)
{
    private readonly object gate = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    /// <summary>A burst of 50 ms of traffic keeps the pipes busy without overshooting the cap visibly.</summary>
    private readonly double burst = Math.Max(bytesPerSecond * 0.05, FramedPump.PayloadSize);
    private double tokens;
    private double lastRefill;

    public static BandwidthLimiter? ForGbps(double? gbps) => gbps is { } g ? new BandwidthLimiter(g * 1e9 / 8) : null;

    public async ValueTask WaitAsync(int bytes, CancellationToken cancel)
    {
        TimeSpan delay;
        lock (gate)
        {
            var now = clock.Elapsed.TotalSeconds;
            tokens = Math.Min(burst, tokens + (now - lastRefill) * bytesPerSecond);
            lastRefill = now;
            tokens -= bytes; // may go negative: the debt is paid by waiting
            if (tokens >= 0) return;
            delay = TimeSpan.FromSeconds(-tokens / bytesPerSecond);
        }
        await Task.Delay(delay, cancel);
    }
}
