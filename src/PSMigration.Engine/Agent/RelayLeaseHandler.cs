using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Agent;

/// <summary>Lets relay sessions reach a libvirt QEMU's incoming socket while the source holds the connection
/// (<see cref="PrepareRelay"/>), for a VM the source holds; the socket must be a <c>*.libvirt</c> one directly in
/// <see cref="AgentOptions.RelaySocketDirectory"/>, never any other local socket. When the source says libvirt completed
/// (<see cref="CommitIncoming"/>) the arrival is recorded. Its file is removed when the lease ends.</summary>
internal sealed class RelayLeaseHandler(AgentOptions options, AgentLog log, RelayTargets targets, CancellationToken stopping)
{
    public async Task ServeAsync(EngineChannel control, PrepareRelay relay, string source)
    {
        var problem = options.Authority.Refusal(relay.Vm, source, IncomingKind.LibvirtRelay) ?? SocketProblem(relay.SocketPath)
                      ?? (relay.DiskSocketPath is { } disks ? SocketProblem(disks) : null);
        if (problem is not null)
        {
            log.Relay(relay.Vm, source, $"refused, {problem}");
            await AgentControl.TryRefuseAsync(control, problem);
            control.Abort();
            return;
        }
        var target = targets.Hold(relay.SocketPath, source);
        var diskTarget = relay.DiskSocketPath is { } diskSocket ? targets.Hold(diskSocket, source) : null;
        var outcome = "ended";
        try
        {
            log.Relay(relay.Vm, source, $"ready for {relay.SocketPath}{(relay.DiskSocketPath is null ? "" : " and its disks at " + relay.DiskSocketPath)}");
            await new IncomingReady("unix://" + relay.SocketPath, target, "", DiskRelayTarget: diskTarget).WriteAsync(control.Stream, stopping);
            var message = await AgentControl.NextAsync(control, options.Stall, stopping);
            if (message is not CommitIncoming commit) throw new ProtocolException($"expected the end of the relay, got {message.GetType().Name}");
            // libvirt completed the migration at the source: the domain runs here now
            outcome = commit.Record ? $"completed; {options.Authority.Arrived(relay.Vm, source)}" : "completed; not recorded (the source keeps the inventories as they are)";
            await new IncomingCommitted("running", "").WriteAsync(control.Stream, stopping);
            var after = await AgentControl.NextAsync(control, options.Stall, stopping); // normally: the source lets go
            throw new ProtocolException($"expected the end of the relay, got {after.GetType().Name}");
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or TimeoutException or OperationCanceledException)
        {
            // the source ended the lease (or went away): the migration is over either way
        }
        catch (ProtocolException e)
        {
            outcome = e.Message;
            await AgentControl.TryRefuseAsync(control, e.Message);
        }
        finally
        {
            targets.Release(target);
            TryDelete(relay.SocketPath);
            if (diskTarget is not null)
            {
                targets.Release(diskTarget);
                TryDelete(relay.DiskSocketPath!);
            }
            control.Abort();
            log.Relay(relay.Vm, source, outcome);
        }
    }

    private string? SocketProblem(string path)
    {
        var directory = options.RelaySocketDirectory;
        if (directory is null) return $"the agent of {options.HostName} does not relay to libvirt (it has no run directory)";
        var full = Path.GetFullPath(directory);
        if (!Path.IsPathFullyQualified(path) || Path.GetFullPath(path) != path || Path.GetDirectoryName(path) != full.TrimEnd('/'))
            return $"{path} is not in the run directory of {options.HostName}'s agent ({full}); libvirt uses the same socket path on both hosts, " +
                   "so run psmig and the agents with the same --run-dir";
        return Path.GetFileName(path).EndsWith(".libvirt", StringComparison.Ordinal) ? null : $"{path} is not a libvirt migration socket (*.libvirt)";
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // left for the next migration's QEMU, which replaces it
        }
    }
}
