using System.Diagnostics;
using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Planning;
using PSMigration.Engine.Transfer;

namespace PSMigration.Qemu.Migration;

/// <summary>One migration's state as it runs, shared by the flow and its backend: its clock and id, the warnings,
/// the progress it reported, the interface it left by, and the result it becomes.</summary>
internal sealed class MigrationRun
{
    private readonly IProgress<MigrationProgress>? progress;

    public MigrationRun(MigrationRequest request, IProgress<MigrationProgress>? progress)
    {
        Request = request;
        this.progress = progress;
        Clock.Start();
    }

    public MigrationRequest Request { get; }
    public MigrationPlan Plan => Request.Plan;
    public string Vm => Request.Vm.Name;
    public Stopwatch Clock { get; } = new();
    public List<string> Warnings { get; } = new();
    /// <summary>Names this migration's files (sockets, credentials) apart from any other's.</summary>
    public string Id { get; } = Guid.NewGuid().ToString("N")[..8];
    /// <summary>The NIC the migration leaves by, once known.</summary>
    public string? SourceInterface { get; set; }
    public MigrationProgress? LastProgress { get; private set; }
    /// <summary>The phase last reported ("copying disks", "migrating"...): where a failure or a cancel happened.</summary>
    public string Stage { get; private set; } = "connecting to the source";
    public IActivityLog Log => Request.Log;
    /// <summary>What was done to finish (post-copy, pause); auto-converge shows in the throttle.</summary>
    public ConvergenceAction Action { get; set; }
    /// <summary>The most auto-converge has throttled the guest so far, in percent.</summary>
    public int MostThrottle { get; private set; }

    /// <summary>How this migration reaches the destination's agent, with this host's credentials; each connection that
    /// fails over is told here.</summary>
    public SessionOptions SessionOptions(int channels) =>
        Request.SessionOptions(Request.Credentials ?? throw new InvalidOperationException($"migrating {Vm} needs {Plan.SourceHost}'s credentials"), channels)
        with { FailedOver = FailedOver };

    /// <summary>Each engine connection that broke and was taken over, in order, with its warning (told from the channels'
    /// own threads, so kept apart from <see cref="Warnings"/> until the result).</summary>
    private readonly List<(Failover Record, string Warning)> failovers = new();

    /// <summary>A connection failed over: in the result, as a warning, and in the progress.</summary>
    private void FailedOver(ChannelFailover failover)
    {
        var record = Failover.Of(failover, Plan.Network);
        lock (failovers)
            failovers.Add((record, $"{Vm}: the engine's {record.Story(failover.Reason)}; the migration went on where it stopped."));
        if (LastProgress is { } last) progress?.Report(last with { Phase = $"{Stage}; {failover.Channel} {record.WhereItWent()}", Elapsed = Clock.Elapsed });
    }

    /// <summary>A new phase, with the numbers reached so far (after the copy: its final ones, not zeros).</summary>
    public void Report(string phase)
    {
        Stage = phase;
        Log.Verbose($"{Vm}: {phase}");
        progress?.Report(LastProgress is { } last
            ? last with { Phase = phase, Elapsed = Clock.Elapsed }
            : new MigrationProgress(Vm, phase, 0, 0, 0, 0, 0, null, 0, Clock.Elapsed));
    }

    public void Report(MigrationProgress now)
    {
        MostThrottle = Math.Max(MostThrottle, now.ThrottlePercent);
        now = now with { Action = TakenAction };
        LastProgress = now;
        progress?.Report(now);
    }

    /// <summary>The action as the result says it: post-copy or pause when taken, else auto-converge if the guest was throttled.</summary>
    public ConvergenceAction TakenAction => Action != ConvergenceAction.None ? Action : MostThrottle > 0 ? ConvergenceAction.AutoConverge : ConvergenceAction.None;

    /// <summary>The last progress record: the whole VM sent, <paramref name="bytes"/> in all.</summary>
    public void ReportCompleted(long bytes)
    {
        var last = LastProgress;
        Report(new MigrationProgress(Vm, "completed", 100, Math.Max(bytes, last?.TransferredBytes ?? 0), 0, last?.ThroughputMBps ?? 0,
            last?.DirtyRateMBps ?? 0, null, last?.Iteration ?? 0, Clock.Elapsed));
    }

    /// <summary>A guest that dirties memory faster than the network carries it, with its numbers and what to do.</summary>
    public MigrationException NotConverging(TimeSpan timeout)
    {
        var status = LastProgress;
        return new("MigrationNotConverging", FailureKind.OperationFailed,
            $"{Vm} did not converge within {timeout.TotalSeconds:0} s: the guest dirties {status?.DirtyRateMBps ?? 0:0} MB/s while the network carries " +
            $"{status?.ThroughputMBps ?? 0:0} MB/s over {Plan.Network}; after {status?.Iteration ?? 0} passes {(status?.RemainingBytes ?? 0) / 1048576.0:0} MiB remain " +
            $"(expected downtime {status?.ExpectedDowntimeMs?.ToString() ?? "?"} ms, limit {Plan.MaxDowntimeMs} ms). It was cancelled and runs on at {Plan.SourceHost}. " +
            $"Allow autoConverge, set timeoutAction: pause (or postcopy, with postcopy: true), raise maxDowntimeMs, use a faster network, or migrate when the guest " +
            $"is quieter; -TimeoutSeconds/--timeout or completionTimeoutPerGiB wait longer.", Vm);
    }

    /// <summary>A migration whose remaining bytes stopped falling (progressTimeout), with its numbers and what to do.</summary>
    public MigrationException NotProgressing(TimeSpan stall)
    {
        var status = LastProgress;
        return new("MigrationNotConverging", FailureKind.OperationFailed,
            $"{Vm} made no progress for {stall.TotalSeconds:0} s (progressTimeout): {(status?.RemainingBytes ?? 0) / 1048576.0:0} MiB remain after {status?.Iteration ?? 0} passes " +
            $"while the guest dirties {status?.DirtyRateMBps ?? 0:0} MB/s and the network carries {status?.ThroughputMBps ?? 0:0} MB/s over {Plan.Network}. It was cancelled and runs on at " +
            $"{Plan.SourceHost}; allow autoConverge, or set timeoutAction: pause or postcopy.", Vm);
    }

    /// <summary>Each broken post-copy stream recovered, in order.</summary>
    public List<LinkRecovery> Recoveries { get; } = new();

    public MigrationResult Result(string status, MigrationTotals totals)
    {
        var totalMs = (long)Clock.Elapsed.TotalMilliseconds;
        var transferMs = totals.TransferMs > 0 ? totals.TransferMs : totalMs;
        return new MigrationResult
        {
            Status = status,
            Vm = Vm,
            SourceHost = Plan.SourceHost,
            DestinationHost = Plan.DestinationHost,
            Transport = Plan.Transport,
            Encryption = Plan.Encryption,
            Network = Plan.Network,
            SourceInterface = SourceInterface,
            SourceAddress = Plan.SourceAddress,
            DestinationAddress = Plan.DestinationAddress,
            Connections = Plan.Channels,
            TotalTimeMs = totalMs,
            DowntimeMs = totals.DowntimeMs,
            Bytes = totals.Bytes,
            DiskBytes = totals.DiskBytes,
            Disks = totals.Disks.ToTextList(),
            ThroughputMBps = transferMs > 0 ? Math.Round(totals.Bytes / 1e6 / (transferMs / 1000.0), 1) : 0,
            Action = TakenAction,
            ThrottlePercent = MostThrottle,
            Recoveries = Recoveries.ToTextList(),
            Failovers = Failovers.Select(f => f.Record).ToTextList(),
            Warnings = Warnings.Concat(Failovers.Select(f => f.Warning)).ToList(),
        };
    }

    private List<(Failover Record, string Warning)> Failovers
    {
        get { lock (failovers) return failovers.ToList(); }
    }

    /// <summary>A migration that did not finish: Cancelled (the caller's cancel) or Failed with the error's id.</summary>
    public MigrationResult Failure(Exception e, bool cancelled) =>
        Result(cancelled ? MigrationStatusNames.Cancelled : MigrationStatusNames.Failed, new MigrationTotals(LastProgress?.TransferredBytes ?? 0, 0, null)) with
        {
            ErrorId = cancelled ? "MigrationCancelled" : (e as MigrationException)?.ErrorId ?? "MigrationFailed",
            Error = cancelled ? $"The migration of {Vm} was cancelled while {Stage}; {Vm} keeps running on {Plan.SourceHost}." : FailureText.Of(e),
        };
}
