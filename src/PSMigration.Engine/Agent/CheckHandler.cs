using System.Net;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>Readiness (<see cref="CheckIncoming"/>): would this agent take the VM now? Starts nothing; says why not, with
/// the host's available memory and the interface (and its MTU) the check came in on.</summary>
internal sealed class CheckHandler(AgentOptions options, AgentLog log)
{
    public async Task ServeAsync(EngineChannel control, CheckIncoming check, string source, CancellationToken handshake)
    {
        try
        {
            var found = options.Authority.Refusal(check.Vm, source, check.Twin is null ? IncomingKind.LibvirtRelay : IncomingKind.QemuTwin) is { } refusal
                ? new TwinCheck(refusal)
                : new TwinCheck(null);
            if (found.Problem is null && check.Twin is { } twin)
            {
                try
                {
                    found = options.Incoming is null
                        ? new TwinCheck($"the agent of {options.HostName} does not start VMs (it has no QEMU configured)")
                        : await options.Incoming.CheckAsync(check.Vm, twin, source, handshake);
                }
                catch (MigrationException e)
                {
                    found = new TwinCheck(e.Message);
                }
            }
            var nic = HostFacts.InterfaceOf(((IPEndPoint)control.LocalEndPoint!).Address);
            log.Checked(check.Vm, source, found.Problem ?? found.StorageProblem ?? "it could be taken");
            await new IncomingChecked(found.Problem, HostFacts.MemoryAvailableMiB(), nic?.Name, nic?.Mtu, found.StorageProblem, found.Storage)
                .WriteAsync(control.Stream, handshake);
        }
        finally
        {
            control.Abort();
        }
    }
}
