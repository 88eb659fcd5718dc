using System.Text.Json;
using PSMigration.Engine.Protocol;

namespace PSMigration.Engine.Agent;

/// <summary>Starts incoming twins for the agent (QEMU, in PSMigration.Qemu). The agent only holds
/// them: a twin lives while its source's control connection does, unless committed. What a twin is
/// (<paramref name="twin"/>: binary, arguments, settings) is the host's to read: the agent only carries it.</summary>
public interface IIncomingVmHost
{
    /// <summary>Starts the twin, paused and waiting for the stream, from this host's own description of the VM (the request
    /// only says how the source sees it, to catch a stale copy). Throws a MigrationException that says why not (the
    /// descriptions differ, an argument is refused, a VM of that name already runs here, QEMU failed...).
    /// <see cref="IIncomingAuthority"/> has already agreed that <paramref name="sourceHost"/> holds the VM.</summary>
    Task<IIncomingVm> PrepareAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel);

    /// <summary>Whether <see cref="PrepareAsync"/> would take this request now, without starting anything.</summary>
    Task<TwinCheck> CheckAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel);

    /// <summary>A VM committed here in post-copy whose stream broke: pauses what is left of its incoming stream and has its
    /// QEMU listen again (migrate-recover) at the transport <paramref name="twin"/> names. The agent has checked that
    /// <paramref name="sourceHost"/> is where its post-copy came from. Throws a MigrationException when there is nothing
    /// to recover (the VM is not here, or its memory has all arrived).</summary>
    Task<IRecoveringVm> RecoverAsync(string vm, JsonElement twin, string sourceHost, CancellationToken cancel);
}

/// <summary>A post-copy VM listening for its source again: at <see cref="Uri"/> (direct), or behind <see cref="RelayPath"/>
/// (a unix socket the engine relays to). Disposing it removes what was made for the recovery (not the VM).</summary>
public interface IRecoveringVm : IAsyncDisposable
{
    string Uri { get; }
    string? RelayPath { get; }
    string QmpPath { get; }
}

/// <summary>What a readiness check of a twin found.</summary>
/// <param name="Problem">Why the twin would not start (the binary, its machine type, the arguments, the VM running here
/// already), or null.</param>
/// <param name="StorageProblem">Why the disks it would receive cannot be created (no place, a file there, no room), or null.</param>
/// <param name="Storage">What it would create for them, when it can ("/var/lib/vm/web01.qcow2, 2 GiB; 40 GiB free in /var/lib/vm").</param>
public sealed record TwinCheck(string? Problem, string? StorageProblem = null, string? Storage = null);

/// <summary>A twin waiting for (or receiving) its VM. Disposing it uncommitted stops it and removes its files.</summary>
public interface IIncomingVm : IAsyncDisposable
{
    /// <summary>The twin's unix incoming socket (engine transport), or null.</summary>
    string? RelayPath { get; }
    string Uri { get; }
    string QmpPath { get; }
    /// <summary>The twin's NBD server for the disks it receives: its unix socket (engine transport), or null.</summary>
    string? DiskRelayPath { get; }
    /// <summary>Where the source's NBD clients connect (direct transport), or null when no disk is copied.</summary>
    string? DiskUri { get; }
    /// <summary>The images created for the disks, in the request's order (empty when none).</summary>
    IReadOnlyList<string> DiskPaths { get; }
    /// <summary>Checks that the whole VM arrived, starts it when <paramref name="resume"/>, and lets it outlive the connection.</summary>
    /// <param name="postcopy">The source switched to post-copy: run now, while the rest of the memory arrives.</param>
    Task<IncomingCommitted> CommitAsync(bool resume, bool postcopy, CancellationToken cancel);
}
