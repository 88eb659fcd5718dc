using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>Holds an incoming twin for its source (<see cref="PrepareIncoming"/>): started on request, stopped when the
/// connection ends uncommitted (cancelled, failed, or the source gone), left running once committed; one committed in
/// post-copy is told to <see cref="PostcopyArrivals"/>.</summary>
internal sealed class TwinHandler(AgentOptions options, AgentLog log, RelayTargets targets, PostcopyArrivals postcopies, CancellationToken stopping)
{
    /// <summary>The arrival in the host's records, unless the source keeps inventories as they are.</summary>
    private string Record(CommitIncoming commit, string vm, string source) =>
        commit.Record ? options.Authority.Arrived(vm, source) : "not recorded (the source keeps the inventories as they are)";

    public async Task ServeAsync(EngineChannel control, PrepareIncoming request, string source)
    {
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
            var message = await AgentControl.NextAsync(control, options.Stall, stopping);
            if (message is not CommitIncoming commit) throw new ProtocolException($"expected CommitIncoming, got {message.GetType().Name}");
            var result = await twin.CommitAsync(commit.Resume, commit.Postcopy, stopping);
            committed = true;
            if (commit.Postcopy) postcopies.Add(request.Vm, source); // its stream may break before the rest arrives: the source may recover it
            await result.WriteAsync(control.Stream, stopping); // the VM runs here: answer first, the records can follow
            log.Incoming(request.Vm, source, $"committed, {result.RunState}; {Record(commit, request.Vm, source)}");
        }
        catch (Exception e)
        {
            var why = e switch
            {
                _ when stopping.IsCancellationRequested && e is not MigrationException => "the agent is stopping",
                OperationCanceledException => $"the twin did not start within {IncomingVmLease.PrepareTimeout.TotalSeconds:0} s",
                _ => FailureText.Of(e, timedOut: "the source went away", closed: "the source went away"),
            };
            log.Incoming(request.Vm, source, (committed ? "" : twin is null ? "refused, " : "stopped, ") + why);
            await AgentControl.TryRefuseAsync(control, why);
        }
        finally
        {
            if (target is not null) targets.Release(target);
            if (diskTarget is not null) targets.Release(diskTarget);
            if (twin is not null) await twin.DisposeAsync(); // stops it unless committed
            control.Abort();
        }
    }
}
