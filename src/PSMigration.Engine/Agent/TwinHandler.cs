using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>Holds an incoming twin for its source (<see cref="PrepareIncoming"/>): started on request, stopped when the
/// control channel ends uncommitted (cancelled, failed, or the source gone: a broken connection the source does not bring
/// back within its tolerance), left running once committed; one committed in post-copy is told to <see cref="PostcopyArrivals"/>.
/// A commit asked again (its answer was lost with a connection) gets the same answer.</summary>
internal sealed class TwinHandler(AgentOptions options, AgentLog log, RelayTargets targets, PostcopyArrivals postcopies, ControlRejoins rejoins,
    CancellationToken stopping)
{
    /// <summary>The arrival in the host's records, unless the source keeps inventories as they are.</summary>
    private string Record(CommitIncoming commit, string vm, string source) =>
        commit.Record ? options.Authority.Arrived(vm, source) : "not recorded (the source keeps the inventories as they are)";

    public async Task ServeAsync(EngineChannel connection, Guid id, PrepareIncoming request, string source)
    {
        var control = connection;
        if (options.Incoming is null)
        {
            await new Refused($"the agent of {options.HostName} does not start VMs (it has no QEMU configured)").WriteAsync(control.Stream, stopping);
            control.Abort();
            return;
        }
        if (options.Authority.Refusal(request.Vm, source, IncomingKind.QemuTwin) is { } refusal)
        {
            log.Incoming(request.Vm, source, $"refused, {refusal}");
            await AgentControl.TryRefuseAsync(control, refusal);
            control.Abort();
            return;
        }
        IIncomingVm? twin = null;
        string? target = null, diskTarget = null;
        var committed = false;
        using var lease = new ResumableControl(connection, id, source, TimeSpan.FromSeconds(request.ResumeSeconds), options.Stall, rejoins);
        try
        {
            using (var preparing = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                preparing.CancelAfter(IncomingVmLease.PrepareTimeout);
                twin = await options.Incoming.PrepareAsync(request.Vm, request.Twin, source, preparing.Token);
            }
            if (twin.RelayPath is not null) target = targets.Hold(twin.RelayPath, source);
            if (twin.DiskRelayPath is not null) diskTarget = targets.Hold(twin.DiskRelayPath, source);
            log.Incoming(request.Vm, source, $"ready at {twin.Uri}{(twin.DiskPaths.Count > 0 ? $", its disks at {twin.DiskUri ?? "the relay"}" : "")}");
            await new IncomingReady(twin.Uri, target, twin.QmpPath, twin.DiskUri, diskTarget, twin.DiskPaths.Count > 0 ? twin.DiskPaths : null)
                .WriteAsync(control.Stream, stopping);
            var message = await lease.NextAsync(stopping);
            if (message is Goodbye) throw new OperationCanceledException("the source let go of the twin");
            if (message is not CommitIncoming commit) throw new ProtocolException($"expected CommitIncoming, got {message.GetType().Name}");
            var result = await twin.CommitAsync(commit.Resume, commit.Postcopy, stopping);
            committed = true;
            if (commit.Postcopy) postcopies.Add(request.Vm, source); // its stream may break before the rest arrives: the source may recover it
            await lease.WriteAsync(result, stopping); // the VM runs here: answer first, the records can follow
            log.Incoming(request.Vm, source, $"committed, {result.RunState}; {Record(commit, request.Vm, source)}");
            await LetGoAsync(twin, target, diskTarget); // what the twin needed until now (its folder, the relay targets) goes at once
            (twin, target, diskTarget) = (null, null, null);
            await AnswerAgainAsync(lease, result);
        }
        catch (Exception e)
        {
            var why = e switch
            {
                _ when stopping.IsCancellationRequested && e is not MigrationException => "the agent is stopping",
                OperationCanceledException when twin is not null => "the source let go of it",
                OperationCanceledException => $"the twin did not start within {IncomingVmLease.PrepareTimeout.TotalSeconds:0} s",
                _ => FailureText.Of(e, timedOut: "the source went away", closed: "the source went away"),
            };
            log.Incoming(request.Vm, source, (committed ? "" : twin is null ? "refused, " : "stopped, ") + why);
            await AgentControl.TryRefuseAsync(lease.Connection, why);
        }
        finally
        {
            await LetGoAsync(twin, target, diskTarget);
        }
    }

    private async Task LetGoAsync(IIncomingVm? twin, string? target, string? diskTarget)
    {
        if (target is not null) targets.Release(target);
        if (diskTarget is not null) targets.Release(diskTarget);
        if (twin is not null) await twin.DisposeAsync(); // stops it unless committed
    }

    /// <summary>After the commit, until the source lets go: a commit asked again gets the same answer.</summary>
    private async Task AnswerAgainAsync(ResumableControl lease, IncomingCommitted result)
    {
        try
        {
            while (await lease.NextAsync(stopping) is CommitIncoming) await lease.WriteAsync(result, stopping);
        }
        catch (Exception e) when (e is not ProtocolException)
        {
            // the source let go, or went away: the VM is committed either way
        }
    }
}
