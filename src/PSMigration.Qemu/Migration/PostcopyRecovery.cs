using System.Diagnostics;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Transfer;

namespace PSMigration.Qemu.Migration;

/// <summary>
/// After the switch to post-copy the VM runs at the destination and pulls the rest of its memory from the source, so a
/// broken stream cannot be cancelled, only recovered (QEMU's postcopy recovery): the source's end paused, the agent asked
/// to have the VM listen again (migrate-recover, its end paused first), a new path opened (the engine's relay, a new
/// session on the agent's port; or QEMU's own connection), and the source resumed into it (migrate with resume: true).
/// Tried again every second until the plan's linkLossToleranceSeconds have passed since the break; then the error says
/// where each side stands and what resumes it. The relays it opened are the ones carrying the stream afterwards.
/// </summary>
internal sealed class PostcopyRecovery(MigrationRun run, IMigrationBackend backend) : IAsyncDisposable
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(1);
    /// <summary>Even a tolerance spent by the time the break is noticed gets one attempt this long.</summary>
    private static readonly TimeSpan MinimumAttempt = TimeSpan.FromSeconds(5);
    private readonly List<EngineRelay> relays = new();
    private IncomingVmLease? lease;

    private Core.Planning.MigrationPlan Plan => run.Plan;
    private TimeSpan Tolerance => TimeSpan.FromSeconds(Plan.LinkLossToleranceSeconds);

    /// <summary>The engine relay that carries the stream since the last recovery; null before any (or for direct).</summary>
    public EngineRelay? Engine => relays.Count > 0 ? relays[^1] : null;

    /// <summary>Bytes carried on the recoveries' relays (each one connection: post-copy has no multifd).</summary>
    public long RelayedBytes => relays.Sum(r => r.SentSoFar);

    /// <param name="broken">The relay that carried the stream until it broke (closed here, so neither QEMU waits on it).</param>
    /// <param name="since">When the stream last carried bytes (the time lost counts from there); null: now.</param>
    public async Task RecoverAsync(EngineRelay? broken, DateTimeOffset? since)
    {
        var clock = Stopwatch.StartNew();
        var lostBefore = since is { } lastMoved ? DateTimeOffset.UtcNow - lastMoved : TimeSpan.Zero;
        TimeSpan Lost() => lostBefore + clock.Elapsed; // the tolerance counts from the break, not from its detection
        var atBytes = run.LastProgress?.TransferredBytes ?? 0;
        run.Report($"post-copy stream lost after {ByteSize.Format(atBytes)}: recovering");
        run.Log.Verbose($"{run.Vm}: the post-copy stream to {Plan.DestinationHost} broke{(broken?.Fault is { } fault ? $" ({fault.Message})" : "")}; " +
                        $"recovering it for up to {Tolerance.TotalSeconds:0} s (linkLossToleranceSeconds)");
        broken?.Abort();
        Exception? last = null;
        for (var attempt = 1; attempt == 1 || Lost() < Tolerance; attempt++)
        {
            using var bounded = new CancellationTokenSource(Max(Tolerance - Lost(), MinimumAttempt));
            try
            {
                await backend.PausePostcopyAsync(bounded.Token);
                await LetGoAsync();
                lease = await backend.RecoverDestinationAsync(run.SessionOptions(channels: 1), bounded.Token);
                string? socket = null;
                if (Plan.ViaEngine)
                {
                    socket = Path.Combine(run.Request.RunDirectory, $"{run.Vm}.{run.Id}.recover{attempt}");
                    relays.Add(await EngineRelay.StartAsync(socket, backend.SourceAccount, run.SessionOptions(1), lease!.Ready.RelayTarget, null, bounded.Token));
                }
                await backend.ResumePostcopyAsync(lease, socket, bounded.Token);
                var lost = (long)Lost().TotalMilliseconds;
                run.Recoveries.Add(new LinkRecovery(atBytes, lost, attempt));
                run.Warnings.Add($"{run.Vm}'s post-copy stream broke after {ByteSize.Format(atBytes)} and was recovered {lost / 1000.0:0.0} s later " +
                                 $"(attempt {attempt}); {run.Vm} waited on the pages it lacked meanwhile.");
                run.Report("migrating memory (post-copy)");
                return;
            }
            catch (MigrationException e) when (e.ErrorId == "NothingToRecover")
            {
                return; // the source's QEMU completed meanwhile: the next poll says so
            }
            catch (Exception e) when (e is not MigrationException { ErrorId: "PostcopyRecoveryUnsupported" })
            {
                last = e;
                run.Log.Verbose($"{run.Vm}: recovery attempt {attempt} failed: {FailureText.Of(e, timedOut: "no answer within the tolerance")}");
                if (Engine is { Fault: not null } failed) failed.Abort();
            }
            var rest = Tolerance - Lost();
            if (rest > TimeSpan.Zero) await Task.Delay(rest < RetryEvery ? rest : RetryEvery);
        }
        throw GaveUp(atBytes, last);
    }

    /// <summary>The stream stays broken: both QEMUs are left as they are (neither may stop: the memory is split between them),
    /// with the commands that resume it once a path is back.</summary>
    private MigrationException GaveUp(long atBytes, Exception? last) =>
        new("PostcopyRecoveryFailed", FailureKind.OperationFailed,
            $"{run.Vm}'s post-copy stream to {Plan.DestinationHost} broke after {ByteSize.Format(atBytes)} and could not be recovered within " +
            $"{Tolerance.TotalSeconds:0} s (linkLossToleranceSeconds){(last is null ? "" : $": {FailureText.Of(last, timedOut: "no answer in time")}")}. " +
            $"{run.Vm} runs on {Plan.DestinationHost}, the guest waiting for the pages it lacks, which {Plan.SourceHost} holds: stop neither. " +
            $"When a path is back, resume it. {backend.PostcopyResumeHint}", run.Vm, last);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private async Task LetGoAsync()
    {
        if (lease is null) return;
        await lease.DisposeAsync();
        lease = null;
    }

    public async ValueTask DisposeAsync()
    {
        await LetGoAsync();
        foreach (var relay in relays) await relay.DisposeAsync();
    }
}
