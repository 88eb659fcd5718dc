using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Accounts;

namespace PSMigration.Qemu.Migration;

/// <summary>The phases of a migration, in the order <see cref="MigrationFlow"/> runs them, and describes them for -WhatIf.</summary>
internal enum MigrationPhase
{
    ConnectSource,
    PrepareDestination,
    ConfigureSource,
    CopyDisks,
    Start,
    Monitor,
    Finish,
}

/// <summary>What a migration sent, and how long the hypervisor says it took.</summary>
/// <param name="TransferMs">The hypervisor's own migration time (the copy, not our setup); 0 when unknown.</param>
internal sealed record MigrationTotals(long Bytes, long TransferMs, long? DowntimeMs)
{
    /// <summary>The local disks copied before memory (copy-storage), in the source's order.</summary>
    public IReadOnlyList<CopiedDisk> Disks { get; init; } = [];
    /// <summary>Disk bytes sent over all disks (the hypervisor's count when it gives no per-disk one).</summary>
    public long DiskBytes { get; init; }
}

/// <summary>
/// One way of moving a VM (QEMU over its QMP socket, libvirt through its API). <see cref="MigrationFlow"/> owns the
/// order, the timeouts, the transport (engine or direct), the destination's lease, the inventory update and the
/// result; a backend does and describes each phase for its hypervisor. Failures are exceptions here; the flow
/// turns them into results. Disposing releases what the backend holds.
/// </summary>
internal interface IMigrationBackend : IAsyncDisposable
{
    /// <summary>What the phase does, in words, from the same values it uses (-WhatIf, <c>psmig migrate --what-if</c>);
    /// the monitor phase names <see cref="MigrationFlow.PollEvery"/> and the request's timeout.</summary>
    IEnumerable<string> Describe(MigrationPhase phase);

    /// <summary>Reaches the source VM, which must be running or paused, and not migrating.</summary>
    Task ConnectSourceAsync(CancellationToken cancel);

    /// <summary>Gets the destination ready over the control connection <paramref name="control"/>: a twin waiting for the VM,
    /// or leave to relay to the QEMU libvirt will start; null when the destination needs nothing from the agent.</summary>
    Task<IncomingVmLease?> PrepareDestinationAsync(SessionOptions control, CancellationToken cancel);

    /// <summary>Gives the source what the migration needs before it starts (settings, TLS).</summary>
    Task ConfigureSourceAsync(CancellationToken cancel);

    /// <summary>How many local disks <see cref="StartDiskCopyAsync"/> copies before memory (0: none, storage is shared, or the
    /// hypervisor copies them inside its own migration call).</summary>
    int DisksToCopy { get; }

    /// <summary>NBD connections the source QEMU makes to <see cref="EngineDiskSocketPath"/> before memory (one per copied
    /// disk) when the engine carries the migration; relayed first, to the lease's disk relay target.</summary>
    int EngineDiskStreams { get; }

    /// <summary>The local unix socket the source QEMU's NBD clients connect to when the engine carries the disks.</summary>
    string EngineDiskSocketPath { get; }

    /// <summary>Starts copying the local disks to the destination the lease names (the engine's disk socket, or the
    /// destination's NBD server), before memory moves.</summary>
    Task StartDiskCopyAsync(IncomingVmLease? lease, CancellationToken cancel);

    /// <summary>Reports the disks' progress; true once every copy is ready (then mirrored until the switchover). Throws when a copy failed.</summary>
    Task<bool> PollDisksAsync(CancellationToken cancel);

    /// <summary>The local unix socket the source QEMU migrates into when the engine carries the migration.</summary>
    string EngineSocketPath { get; }

    /// <summary>The account the source QEMU runs as, when the backend knows it: the engine's socket is given to it, as a
    /// QEMU that dropped root could not connect to it otherwise.</summary>
    UnixAccount? SourceAccount { get; }

    /// <summary>Starts the migration: into <see cref="EngineSocketPath"/> (engine), or to the destination the lease names (direct).</summary>
    Task StartAsync(IncomingVmLease? lease, CancellationToken cancel);

    /// <summary>Completes when the hypervisor says the migration ended (so the flow need not wait for its next poll).</summary>
    Task Ended { get; }

    /// <summary>Asks how it goes and reports the progress; true once it completed. Throws when it failed.</summary>
    Task<bool> PollAsync(CancellationToken cancel);

    /// <summary>Pauses the guest at the source while its migration runs, so what remains is final (timeoutAction: pause).</summary>
    Task PauseSourceAsync(CancellationToken cancel);

    /// <summary>Switches the running migration to post-copy and has the destination run the VM at once (it pulls the rest
    /// of its memory from the source). From then on the source can no longer resume it. Throws when the switch cannot
    /// be made (then nothing changed: the migration can still be cancelled).</summary>
    Task SwitchToPostcopyAsync(IncomingVmLease? lease, CancellationToken cancel);

    /// <summary>After the switch to post-copy: when the last poll found the stream broken (the hypervisor paused it, or it
    /// carried nothing for a while), the time it last carried bytes; null while it runs. The flow recovers a broken one
    /// (<see cref="PostcopyRecovery"/>).</summary>
    DateTimeOffset? PostcopyBrokenSince { get; }

    /// <summary>Brings the source's end of a broken post-copy stream to a pause it can be resumed from.</summary>
    Task PausePostcopyAsync(CancellationToken cancel);

    /// <summary>Asks the agent to have the VM listen again for its broken post-copy; held until the stream runs again; null
    /// when the hypervisor has its destination listen again itself. Throws a ChannelException when the agent cannot be
    /// reached or says no.</summary>
    Task<IncomingVmLease?> RecoverDestinationAsync(SessionOptions control, CancellationToken cancel);

    /// <summary>Resumes the paused post-copy into <paramref name="engineSocket"/> (engine transport) or where
    /// <paramref name="recovery"/> says the destination listens (direct); returns once the stream runs again.</summary>
    Task ResumePostcopyAsync(IncomingVmLease? recovery, string? engineSocket, CancellationToken cancel);

    /// <summary>Where each end of a post-copy that could not be recovered stands, in the hypervisor's terms, and the
    /// commands that resume it once a path is back (for the error).</summary>
    string PostcopyResumeHint { get; }

    /// <summary>The migration completed: the VM runs at the destination once this returns. Not cancellable: finishing is
    /// the quickest way back to a running VM. A failure to confirm the commit is <c>CommitUncertain</c>.</summary>
    Task<MigrationTotals> FinishAsync(IncomingVmLease? lease);

    /// <summary>Undoes a migration that did not finish: the hypervisor cancels, and the source runs on unless
    /// <paramref name="resumeSource"/> is false (the destination may run the VM already).</summary>
    Task RollBackAsync(bool resumeSource);
}
