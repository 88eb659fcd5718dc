using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>Recovers a post-copy whose stream broke (<see cref="RecoverIncoming"/>), for the host it came from: the VM's
/// QEMU listens again, behind a relay target held while the source's connection lasts (the source lets go once its
/// stream runs again, or tries anew).</summary>
internal sealed class RecoveryHandler(AgentOptions options, AgentLog log, RelayTargets targets, PostcopyArrivals arrivals, CancellationToken stopping)
{
    public async Task ServeAsync(EngineChannel control, RecoverIncoming ask, string source)
    {
        var refusal = options.Incoming is null ? $"the agent of {options.HostName} does not start VMs (it has no QEMU configured)"
            : arrivals.Refusal(ask.Vm, source, options.HostName);
        if (refusal is not null)
        {
            log.Incoming(ask.Vm, source, $"post-copy recovery refused, {refusal}");
            await AgentControl.TryRefuseAsync(control, refusal);
            control.Abort();
            return;
        }
        IRecoveringVm? recovering = null;
        string? target = null;
        try
        {
            using (var preparing = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                preparing.CancelAfter(IncomingVmLease.RecoverTimeout);
                recovering = await options.Incoming!.RecoverAsync(ask.Vm, ask.Twin, source, preparing.Token);
            }
            if (recovering.RelayPath is not null) target = targets.Hold(recovering.RelayPath, source);
            log.Incoming(ask.Vm, source, $"post-copy recovery: listening again at {recovering.Uri}");
            await new IncomingReady(recovering.Uri, target, recovering.QmpPath).WriteAsync(control.Stream, stopping);
            var after = await AgentControl.NextAsync(control, options.Stall, stopping); // normally: the source lets go
            throw new ProtocolException($"expected the end of the recovery, got {after.GetType().Name}");
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or TimeoutException || (e is OperationCanceledException && recovering is not null))
        {
            // the source let go (its stream runs again, or it tries anew), or went away: either way this attempt is over
        }
        catch (Exception e)
        {
            if (e is MigrationException { ErrorId: "NothingToRecover" }) arrivals.Forget(ask.Vm);
            var why = e switch
            {
                _ when stopping.IsCancellationRequested && e is not MigrationException => "the agent is stopping",
                OperationCanceledException => $"{ask.Vm} did not listen again within {IncomingVmLease.RecoverTimeout.TotalSeconds:0} s",
                _ => FailureText.Of(e),
            };
            log.Incoming(ask.Vm, source, $"post-copy recovery failed, {why}");
            await AgentControl.TryRefuseAsync(control, why);
        }
        finally
        {
            if (target is not null) targets.Release(target);
            if (recovering is not null) await recovering.DisposeAsync();
            control.Abort();
        }
    }
}
