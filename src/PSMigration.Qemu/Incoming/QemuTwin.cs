using System.Diagnostics;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Agent;
using PSMigration.Engine.Protocol;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.Storage;

namespace PSMigration.Qemu.Incoming;

/// <summary>One twin, paused until its source's migration completes and the source commits it; with the disks it
/// receives (<paramref name="disks"/>, exported at <paramref name="diskServer"/>) when the VM's storage is copied.</summary>
internal sealed class QemuTwin(QemuInstance qemu, string uri, string? relayPath, TwinFolder folder, string runDirectory, Action<string> log,
    IncomingDisks? disks = null, NbdAddress? diskServer = null) : IIncomingVm
{
    private static readonly TimeSpan ArrivalTimeout = TimeSpan.FromSeconds(10);
    private bool committed;

    public string? RelayPath => relayPath;
    public string Uri => uri;
    public string QmpPath => qemu.CommandLine.QmpPath;
    public string? DiskRelayPath => diskServer?.SocketPath;
    public string? DiskUri => diskServer is { SocketPath: null } ? diskServer.ToString() : null;
    public IReadOnlyList<string> DiskPaths => disks?.Images.Select(i => i.Path).ToList() ?? [];

    /// <summary>The whole VM must have arrived (the incoming migration completed), or with <paramref name="postcopy"/> its
    /// devices and the switch to post-copy; then the twin runs, if it ran at the source.</summary>
    public async Task<IncomingCommitted> CommitAsync(bool resume, bool postcopy, CancellationToken cancel)
    {
        var status = await WaitArrivedAsync(postcopy, cancel);
        if (status != "completed" && !(postcopy && status == "postcopy-active"))
            throw new MigrationException("IncomingIncomplete", FailureKind.OperationFailed,
                $"{qemu.Vm} has not arrived on this host (its incoming migration is '{status}')", qemu.Vm);
        if (disks is not null)
        {
            await disks.StopExportsAsync(qemu.Qmp, cancel); // the source's copies ended before it committed: nothing writes any more
        }
        if (resume) await qemu.Qmp.ExecuteAsync("cont", null, cancel);
        var runState = (await qemu.Qmp.ExecuteAsync("query-status", null, cancel)).GetProperty("status").GetString() ?? "unknown";
        if (resume && runState != "running")
            throw new MigrationException("IncomingNotRunning", FailureKind.OperationFailed, $"{qemu.Vm} arrived but is '{runState}', not running", qemu.Vm);
        committed = true;
        disks?.Keep();
        // No longer an uncommitted twin: its pid file and log take the VM's own names (QEMU keeps writing to the same file).
        File.Move(qemu.CommandLine.PidFile, Path.Combine(runDirectory, qemu.Vm + ".pid"), overwrite: true);
        if (File.Exists(qemu.CommandLine.LogFile)) File.Move(qemu.CommandLine.LogFile, Path.Combine(runDirectory, qemu.Vm + ".log"), overwrite: true);
        return new IncomingCommitted(runState, QmpPath);
    }

    private async Task<string> WaitArrivedAsync(bool postcopy, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = (await qemu.Qmp.ExecuteAsync("query-migrate", null, cancel)).TryGetProperty("status", out var s) ? s.GetString() ?? "" : "none";
            if (status is "completed" or "failed" or "cancelled" || (postcopy && status == "postcopy-active") || clock.Elapsed > ArrivalTimeout) return status;
            await Task.Delay(20, cancel);
        }
    }

    public async ValueTask DisposeAsync()
    {
        folder.Dispose(); // its incoming socket and TLS copy: a committed VM needs neither
        if (committed)
        {
            await qemu.DisposeAsync(); // it runs on; its QMP socket is free for the VM's users
            return;
        }
        if (qemu.LogTail() is { Length: > 0 } said) log($"{qemu.Vm}'s twin wrote: {said}"); // its log goes with it
        await qemu.StopAsync();
        if (disks is not null) await disks.DisposeAsync(); // after QEMU closed them
    }
}
