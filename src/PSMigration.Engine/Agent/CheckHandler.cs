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
            var problem = options.Authority.Refusal(check.Vm, source, check.Twin is null ? IncomingKind.LibvirtRelay : IncomingKind.QemuTwin);
            if (problem is null && check.Twin is { } twin)
            {
                try
                {
                    problem = options.Incoming is null
                        ? $"the agent of {options.HostName} does not start VMs (it has no QEMU configured)"
                        : await options.Incoming.CheckAsync(check.Vm, twin, source, handshake);
                }
                catch (MigrationException e)
                {
                    problem = e.Message;
                }
            }
            var nic = HostFacts.InterfaceOf(((IPEndPoint)control.LocalEndPoint!).Address);
            log.Checked(check.Vm, source, problem ?? "it could be taken");
            await new IncomingChecked(problem, HostFacts.MemoryAvailableMiB(), nic?.Name, nic?.Mtu).WriteAsync(control.Stream, handshake);
        }
        finally
        {
            control.Abort();
        }
    }
}
