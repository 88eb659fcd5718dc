using PSMigration.Core.Planning;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Policies;

namespace PSMigration.Qemu.Migration;

/// <summary>What the flow does next about a migration that may not converge.</summary>
internal enum ConvergenceStep
{
    /// <summary>Keep polling.</summary>
    Wait,
    /// <summary>Pause the guest at the source, so the rest is final, and finish.</summary>
    Pause,
    /// <summary>Switch to post-copy: the VM runs at the destination from now on.</summary>
    Postcopy,
}

/// <summary>
/// Watches the memory's migration poll by poll: it has run out of time when it is past its timeout (the request's,
/// or completionTimeoutPerGiB times the RAM) or, with progressTimeout, when the remaining bytes have not fallen for that
/// long. Then the plan's timeoutAction decides: cancel (the error that says why, the VM running on at the source), pause
/// or post-copy, each taken once; a switch asked for by the user (-Postcopy, --postcopy-after) comes when it is due. After
/// a pause the migration only has the rest to send, at most all of RAM: it must end within twice the time one copy of
/// the RAM takes at the throughput of the moment, plus half a minute (and never sooner than the timeout); after
/// post-copy it ends by itself (the destination pulls what it lacks), so no timeout applies.
/// </summary>
internal sealed class ConvergenceWatch
{
    private readonly MigrationRun run;
    /// <summary>When memory started moving (the run's clock): the timeout counts from there.</summary>
    private readonly TimeSpan started;
    private readonly TimeSpan timeout;
    private readonly TimeSpan? stallLimit;
    private long leastRemaining = long.MaxValue;
    private TimeSpan lastFall;
    private TimeSpan? pausedAt;
    /// <summary>How long the rest may take once paused.</summary>
    private TimeSpan afterPause;

    public ConvergenceWatch(MigrationRun run, TimeSpan started)
    {
        this.run = run;
        this.started = lastFall = started;
        timeout = run.Request.EffectiveTimeout;
        stallLimit = run.Plan.ProgressTimeoutSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
    }

    public ConvergenceStep Next()
    {
        var now = run.Clock.Elapsed;
        if (run.Action == ConvergenceAction.Postcopy) return ConvergenceStep.Wait;
        if (pausedAt is { } paused)
        {
            if (now - paused > afterPause)
                throw new MigrationException("MigrationNotConverging", FailureKind.OperationFailed,
                    $"{run.Vm} was paused {(now - paused).TotalSeconds:0} s ago to finish, and its migration still has not completed " +
                    $"({(run.LastProgress?.RemainingBytes ?? 0) / 1048576.0:0} MiB remain at {run.LastProgress?.ThroughputMBps ?? 0:0} MB/s): it was cancelled and {run.Vm} resumed on {run.Plan.SourceHost}.", run.Vm);
            return ConvergenceStep.Wait;
        }
        if (run.Request.PostcopyAfter is { } after && now - started >= after && (after > TimeSpan.Zero || FirstPassDone))
            return Switch("you asked for it");
        if (run.LastProgress is { RemainingBytes: var remaining } && remaining < leastRemaining)
        {
            leastRemaining = remaining;
            lastFall = now;
        }
        var timedOut = now - started > timeout;
        var stalled = stallLimit is { } limit && now - lastFall > limit;
        if (!timedOut && !stalled) return ConvergenceStep.Wait;
        var why = timedOut ? $"it has not converged within {timeout.TotalSeconds:0} s" : $"its remaining bytes have not fallen for {stallLimit!.Value.TotalSeconds:0} s";
        switch (run.Plan.TimeoutAction)
        {
            case TimeoutAction.Pause:
                pausedAt = now;
                var copySeconds = run.Request.Vm.MemoryMiB * 1048576.0 / 1e6 / Math.Max(1, run.LastProgress?.ThroughputMBps ?? 1);
                afterPause = TimeSpan.FromSeconds(Math.Max(timeout.TotalSeconds, 2 * copySeconds + 30));
                run.Action = ConvergenceAction.Pause;
                run.Warnings.Add($"{run.Vm} was paused at the source after {(now - started).TotalSeconds:0} s because {why} (timeoutAction: pause): its downtime is the time the rest took.");
                run.Log.Verbose($"{run.Vm}: {why}: pausing the guest on {run.Plan.SourceHost} to finish (timeoutAction: pause)");
                return ConvergenceStep.Pause;
            case TimeoutAction.Postcopy:
                return Switch($"{why} (timeoutAction: postcopy)");
            default:
                throw timedOut ? run.NotConverging(timeout) : run.NotProgressing(stallLimit!.Value);
        }
    }

    /// <summary>What the watch will do, for the monitor step of -WhatIf, in the hypervisor's own words for each action.</summary>
    public static string Describe(MigrationRequest request, string cancel, string pause, string postcopy)
    {
        var plan = request.Plan;
        var limit = $"timeout {request.EffectiveTimeout.TotalSeconds:0} s" +
                    (plan.ProgressTimeoutSeconds is { } stall ? $" or no fall in the remaining bytes for {stall} s" : "");
        var then = plan.TimeoutAction switch
        {
            TimeoutAction.Pause => $"pause the guest ({pause}) and finish",
            TimeoutAction.Postcopy => $"switch to post-copy ({postcopy}; from then on it runs at {plan.DestinationHost} and {plan.SourceHost} can no longer resume it)",
            _ => $"cancel ({cancel}; it runs on at {plan.SourceHost})",
        };
        var asked = request.PostcopyAfter is { } after
            ? $"; switch to post-copy ({postcopy}) {(after == TimeSpan.Zero ? "once the first pass has sent all of RAM" : $"{after.TotalSeconds:0} s after memory starts moving")}, " +
              $"as asked for this run: from then on it runs at {plan.DestinationHost} and {plan.SourceHost} can no longer resume it" +
              (plan.CopyStorage ? " (with disks being copied, QEMU's switch is refused and the migration cancelled instead)" : "")
            : "";
        return $"{limit}, then {then}{asked}";
    }

    /// <summary>The first pass has sent all of RAM once: a switch to post-copy before that would pull most of it page by page.</summary>
    private bool FirstPassDone => run.LastProgress is { Iteration: > 1 };

    private ConvergenceStep Switch(string why)
    {
        run.Action = ConvergenceAction.Postcopy;
        run.Log.Verbose($"{run.Vm}: switching to post-copy: {why}");
        return ConvergenceStep.Postcopy;
    }
}
