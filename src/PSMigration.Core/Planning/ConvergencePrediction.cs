using System.Text.Json.Serialization;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Planning;

/// <summary>What a migration needs (a prediction) or did (a result) to finish: nothing (it converged), throttle the guest
/// (auto-converge), switch to post-copy, or pause the guest at the source. Spelt as the JSON contract has it.</summary>
public enum ConvergenceAction
{
    [Spelling("none")] None,
    [Spelling("autoConverge")] AutoConverge,
    [Spelling("postcopy")] Postcopy,
    [Spelling("pause")] Pause,
}

/// <summary>
/// Whether a migration will converge, predicted before it starts from the guest's sampled dirty rate and the path's
/// bandwidth (<c>Get-MigrationPlan -Predict</c>, <c>psmig plan --predict</c>). Property names are the JSON contract.
/// The model is pre-copy's: the first pass sends all of RAM; each next pass sends what the guest dirtied during the one
/// before (never more than its RAM); the migration converges once a pass fits in the downtime limit. With autoConverge,
/// QEMU's throttle holds the guest back 20% once two passes have dirtied more than half of what they sent (QEMU's
/// throttle-trigger-threshold, counted twice before each step), and 10% more after every two such passes; the model takes the dirtying to fall in
/// proportion, which a guest that paces its writes by the clock does not do (it is then optimistic). A guest that out-dirties
/// the link, or whose throttle would need longer than the timeout, does not converge by itself in time: then the policy's timeoutAction finishes it at the timeout (pause: what remains
/// is sent with the guest stopped; postcopy: it runs at the destination and pulls the rest), or it is cancelled.
/// </summary>
public sealed record ConvergencePrediction
{
    /// <summary>Passes the model follows at most: past this a migration that still shrinks is called not converging.</summary>
    private const int MaxPasses = 30;

    public double DirtyRateMBps { get; init; }
    /// <summary>Whether it converges as the policy has it (an action that finishes it counts).</summary>
    public bool Converges { get; init; }
    public int Passes { get; init; }
    public double TotalSeconds { get; init; }
    public long Bytes { get; init; }
    /// <summary>What it needs to finish: none (it converges by itself), or the action that finishes it; when the policy has
    /// none, the mildest that would (autoConverge).</summary>
    public ConvergenceAction ActionNeeded { get; init; }
    /// <summary>The pause at the switch-over, as predicted (for pause: the time the rest takes).</summary>
    public long ExpectedDowntimeMs { get; init; }
    /// <summary>The bandwidth predicted with, and where it came from (the plan's, or a measurement the user gave).</summary>
    public double BandwidthGbps { get; init; }
    public required string Reason { get; init; }

    /// <summary>The numbers for people (a method, so neither the JSON contract nor the views show it twice).</summary>
    public string Numbers() =>
        $"{Passes} pass(es), about {TotalSeconds:0.#} s and {Bytes / 1048576.0:0} MiB, downtime about {ExpectedDowntimeMs} ms";

    /// <param name="memoryMiB">The VM's RAM.</param>
    /// <param name="dirtyRateMBps">The guest's sampled dirty rate (MB = 10^6 bytes).</param>
    /// <param name="bandwidthGbps">The path's bandwidth (the plan's, or measured).</param>
    /// <param name="timeout">The migration's timeout (for the actions taken at it).</param>
    public static ConvergencePrediction Predict(long memoryMiB, double dirtyRateMBps, double bandwidthGbps, MigrationPlan plan, TimeSpan timeout)
    {
        var ram = memoryMiB * 1048576.0;
        var rate = bandwidthGbps * 1e9 / 8; // bytes per second on the wire
        var dirty = dirtyRateMBps * 1e6;
        var fitsInDowntime = rate * plan.MaxDowntimeMs / 1000.0;
        var by = new Precopy(ram, rate, dirty, fitsInDowntime, plan.AutoConverge);
        var seconds = $"{InterfaceBandwidth.Gbps(bandwidthGbps)} ({rate / 1e6:0} MB/s)";
        if (by.Converged && by.Seconds <= timeout.TotalSeconds)
            return new ConvergencePrediction
            {
                DirtyRateMBps = dirtyRateMBps, Converges = true, Passes = by.Passes, TotalSeconds = Math.Round(by.Seconds, 1), Bytes = (long)by.Bytes,
                ActionNeeded = by.Throttled ? ConvergenceAction.AutoConverge : ConvergenceAction.None,
                ExpectedDowntimeMs = (long)(by.LastPass / rate * 1000), BandwidthGbps = bandwidthGbps,
                Reason = $"The guest dirties {dirtyRateMBps:0} MB/s against {seconds}: " +
                         (by.Throttled ? $"with autoConverge's throttle (up to {by.Throttle}%) it converges in {by.Passes} passes."
                                       : $"it converges in {by.Passes} passes, the last within the {plan.MaxDowntimeMs} ms downtime limit."),
            };
        // It does not converge by itself in time: what the policy does at the timeout finishes it, or it is cancelled.
        var untilTimeout = new Precopy(ram, rate, dirty, fitsInDowntime, plan.AutoConverge, stopAfterSeconds: timeout.TotalSeconds);
        var throttle = !plan.AutoConverge ? ""
            : by.Converged ? $", and autoConverge's throttle would need about {by.Seconds:0} s ({by.Passes} passes, up to {by.Throttle}%), past the timeout"
            : ", more than autoConverge's throttle can hold back";
        var remaining = untilTimeout.Remaining;
        var action = plan.TimeoutAction switch
        {
            TimeoutAction.Pause => ConvergenceAction.Pause,
            TimeoutAction.Postcopy => ConvergenceAction.Postcopy,
            _ => ConvergenceAction.AutoConverge,
        };
        var finished = plan.TimeoutAction != TimeoutAction.Cancel;
        return new ConvergencePrediction
        {
            DirtyRateMBps = dirtyRateMBps, Converges = finished, Passes = untilTimeout.Passes + (finished ? 1 : 0),
            TotalSeconds = Math.Round(untilTimeout.Seconds + (finished ? remaining / rate : 0), 1), Bytes = (long)(untilTimeout.Bytes + (finished ? remaining : 0)),
            ActionNeeded = action,
            ExpectedDowntimeMs = plan.TimeoutAction == TimeoutAction.Pause ? (long)(remaining / rate * 1000) : plan.MaxDowntimeMs,
            BandwidthGbps = bandwidthGbps,
            Reason = $"The guest dirties {dirtyRateMBps:0} MB/s against {seconds}{throttle}: " +
                     "it does not converge by itself within its timeout. " + plan.TimeoutAction switch
                     {
                         TimeoutAction.Pause => $"At the timeout ({timeout.TotalSeconds:0} s) timeoutAction: pause stops it and sends the remaining {remaining / 1048576:0} MiB (that long a downtime).",
                         TimeoutAction.Postcopy => $"At the timeout ({timeout.TotalSeconds:0} s) timeoutAction: postcopy runs it at the destination, which pulls the remaining {remaining / 1048576:0} MiB.",
                         _ => $"It would be cancelled at its timeout ({timeout.TotalSeconds:0} s): " +
                              (plan.AutoConverge ? "give it longer (completionTimeoutPerGiB), or set timeoutAction: pause or postcopy." : "set autoConverge: true, or timeoutAction: pause or postcopy."),
                     },
        };
    }

    /// <summary>Pre-copy pass by pass: each pass sends what the one before let the guest dirty.</summary>
    private sealed class Precopy
    {
        public Precopy(double ram, double rate, double dirty, double fitsInDowntime, bool autoConverge, double stopAfterSeconds = double.MaxValue)
        {
            var toSend = ram;
            var previous = double.MaxValue;
            var highPasses = 0; // passes that dirtied more than half of what they sent, since the throttle last rose
            var toTimeout = stopAfterSeconds < double.MaxValue; // passes go on until the timeout, shrinking or not
            while ((toTimeout || Passes < MaxPasses) && Seconds < stopAfterSeconds)
            {
                Passes++;
                var passSeconds = toSend / Math.Max(rate, 1);
                Seconds += passSeconds;
                Bytes += toSend;
                LastPass = toSend;
                if (Passes > 1 && toSend <= fitsInDowntime)
                {
                    Converged = true;
                    return;
                }
                var dirtied = Math.Min(ram, dirty * (1 - Throttle / 100.0) * passSeconds);
                if (autoConverge && dirtied > toSend / 2 && ++highPasses == 2) // QEMU's trigger, met twice (ram.c migration_trigger_throttle)
                {
                    highPasses = 0;
                    Throttle = Math.Min(99, Throttle == 0 ? 20 : Throttle + 10); // from the next pass on
                }
                previous = toSend;
                toSend = Math.Max(dirtied, 1);
                Remaining = toSend;
                if (!autoConverge && !toTimeout && toSend >= previous && Passes > 1) return; // not shrinking: it never will
            }
        }

        /// <summary>What the next pass would send: what is still to go when the passes stop.</summary>
        public double Remaining { get; }

        public int Passes { get; }
        public double Seconds { get; }
        public double Bytes { get; }
        public double LastPass { get; }
        public int Throttle { get; }
        public bool Converged { get; }
        public bool Throttled => Throttle > 0;
    }
}
