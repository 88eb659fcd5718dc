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
/// a pause the migration must end within one more timeout (it only has the rest to send); after post-copy it ends by
/// itself (the destination pulls what it lacks), so no timeout applies.
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
        if (run.Action == MigrationAction.Postcopy) return ConvergenceStep.Wait;
        if (pausedAt is { } paused)
        {
            if (now - paused > timeout)
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
                run.Action = MigrationAction.Pause;
                run.Warnings.Add($"{run.Vm} was paused at the source after {(now - started).TotalSeconds:0} s because {why} (timeoutAction: pause): its downtime is the time the rest took.");
                run.Log.Verbose($"{run.Vm}: {why}: pausing the guest on {run.Plan.SourceHost} to finish (timeoutAction: pause)");
                return ConvergenceStep.Pause;
            case TimeoutAction.Postcopy:
                return Switch($"{why} (timeoutAction: postcopy)");
            default:
                throw timedOut ? run.NotConverging(timeout) : run.NotProgressing(stallLimit!.Value);
        }
    }

    /// <summary>The first pass has sent all of RAM once: a switch to post-copy before that would pull most of it page by page.</summary>
    private bool FirstPassDone => run.LastProgress is { Iteration: > 1 };

    private ConvergenceStep Switch(string why)
    {
        run.Action = MigrationAction.Postcopy;
        run.Log.Verbose($"{run.Vm}: switching to post-copy: {why}");
        return ConvergenceStep.Postcopy;
    }
}
