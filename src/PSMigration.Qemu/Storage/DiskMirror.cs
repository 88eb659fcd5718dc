using System.Diagnostics;
using System.Text.Json;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Storage;

/// <summary>
/// The source's side of a disk copy, the way libvirt does it: for each disk an NBD client node on the destination's
/// export and a <c>blockdev-mirror</c> (full, write-blocking: once ready, every guest write reaches both images
/// before it completes). Memory migrates once every job is ready; after the source paused, <c>block-job-cancel</c>
/// ends each ready job without a pivot, so the copy is the source's disk as of the pause. The source's images are
/// never touched: on any failure the jobs are cancelled and the NBD nodes removed.
/// </summary>
internal sealed class DiskMirror(QmpClient source, IReadOnlyList<VmDisk> disks, string destinationHost, IActivityLog log, string vm)
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);
    private readonly List<int> nodes = new();
    private readonly List<int> jobs = new();
    private IReadOnlyList<DiskProgress> last = [];

    private static string NodeName(int index) => $"psmig-nbd{index}";
    private static string JobId(int index) => $"psmig-mirror{index}";
    private static string ExportName(int index) => $"psmig-disk{index}";

    public IReadOnlyList<VmDisk> Disks => disks;

    /// <summary>Connects each disk's NBD client to <paramref name="server"/> (in disk order: the engine relays the i-th
    /// connection to the i-th export) and starts its mirror.</summary>
    /// <param name="bytesPerSecond">The policy's bandwidth cap for the whole copy, shared by the disks' jobs; null for none.</param>
    public async Task StartAsync(NbdAddress server, string? tlsCreds, long? bytesPerSecond, CancellationToken cancel)
    {
        for (var i = 0; i < disks.Count; i++)
        {
            var options = new Dictionary<string, object>
            {
                ["driver"] = "nbd", ["node-name"] = NodeName(i), ["server"] = server.ToQmp(), ["export"] = ExportName(i),
            };
            if (tlsCreds is not null)
            {
                options["tls-creds"] = tlsCreds;
                options["tls-hostname"] = destinationHost;
            }
            await source.ExecuteAsync("blockdev-add", options, cancel);
            nodes.Add(i);
            var mirror = new Dictionary<string, object>
            {
                ["job-id"] = JobId(i), ["device"] = disks[i].Key, ["target"] = NodeName(i), ["sync"] = "full",
                ["copy-mode"] = "write-blocking", ["auto-dismiss"] = false,
            };
            if (bytesPerSecond is { } cap) mirror["speed"] = Math.Max(1, cap / disks.Count); // the jobs run side by side
            await source.ExecuteAsync("blockdev-mirror", mirror, cancel);
            jobs.Add(i);
            log.Verbose($"{vm}: mirroring {disks[i].Device} ({disks[i].Path}) to {destinationHost} at {server}, export {ExportName(i)}");
        }
    }

    /// <summary>Each disk's progress; throws when a job failed or ended (the destination went away, its disk is full...).</summary>
    public async Task<IReadOnlyList<DiskProgress>> PollAsync(CancellationToken cancel)
    {
        var states = await JobsAsync(cancel);
        var progress = new List<DiskProgress>();
        foreach (var i in jobs)
        {
            if (!states.TryGetValue(JobId(i), out var job))
                throw Failed(i, "its job is gone");
            if (job.Error is not null || job.Status is "concluded" or "aborting" or "null")
                throw Failed(i, job.Error ?? $"its job is {job.Status}");
            progress.Add(new DiskProgress(disks[i].Device, job.Offset, job.Length, job.Ready));
        }
        return last = progress;
    }

    /// <summary>The source is paused: ends every ready job without a pivot (the copy is complete and consistent), removes
    /// the NBD nodes, and says what each disk sent.</summary>
    public async Task<IReadOnlyList<DiskProgress>> CompleteAsync(CancellationToken cancel)
    {
        foreach (var i in jobs) await source.ExecuteAsync("block-job-cancel", new { device = JobId(i) }, cancel);
        var ended = await WaitConcludedAsync(cancel);
        var done = new List<DiskProgress>();
        foreach (var i in jobs)
        {
            var job = ended[JobId(i)];
            if (job.Error is not null) throw Failed(i, job.Error);
            done.Add(new DiskProgress(disks[i].Device, job.Offset, job.Length, true));
        }
        await DismissAndRemoveAsync(cancel);
        return done;
    }

    /// <summary>Undoes the copy on the source: cancels the jobs (forced), removes the NBD nodes. Best effort: what could
    /// not be undone is a warning; the source's own images are untouched either way.</summary>
    public async Task AbortAsync(List<string> warnings)
    {
        using var settle = new CancellationTokenSource(SettleTimeout);
        try
        {
            foreach (var i in jobs)
            {
                try
                {
                    await source.ExecuteAsync("block-job-cancel", new { device = JobId(i), force = true }, settle.Token);
                }
                catch (QmpException)
                {
                    // already concluded (it failed): dismissed below
                }
            }
            await WaitConcludedAsync(settle.Token);
            await DismissAndRemoveAsync(settle.Token);
        }
        catch (Exception e)
        {
            warnings.Add($"The disk copy of {vm} could not be fully undone on the source ({e.Message}); its images are untouched. " +
                         $"Check with QMP query-block-jobs and query-named-block-nodes for psmig-mirror*/psmig-nbd*.");
        }
    }

    private async Task DismissAndRemoveAsync(CancellationToken cancel)
    {
        foreach (var i in jobs.ToList())
        {
            await source.ExecuteAsync("job-dismiss", new { id = JobId(i) }, cancel);
            jobs.Remove(i);
        }
        foreach (var i in nodes.ToList())
        {
            await source.ExecuteAsync("blockdev-del", new Dictionary<string, object> { ["node-name"] = NodeName(i) }, cancel);
            nodes.Remove(i);
        }
    }

    private async Task<Dictionary<string, JobState>> WaitConcludedAsync(CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var states = await JobsAsync(cancel);
            var mine = jobs.Where(i => states.ContainsKey(JobId(i))).ToList();
            if (mine.All(i => states[JobId(i)].Status == "concluded")) return states;
            if (clock.Elapsed > SettleTimeout)
                throw new MigrationException("DiskCopyStuck", FailureKind.OperationFailed,
                    $"the disk copies of {vm} did not end within {SettleTimeout.TotalSeconds:0} s", vm);
            await Task.Delay(10, cancel);
        }
    }

    private async Task<Dictionary<string, JobState>> JobsAsync(CancellationToken cancel)
    {
        var states = new Dictionary<string, JobState>(StringComparer.Ordinal);
        foreach (var job in (await source.ExecuteAsync("query-block-jobs", null, cancel)).EnumerateArray())
            states[job.GetProperty("device").GetString() ?? ""] = JobState.From(job);
        return states;
    }

    private MigrationException Failed(int index, string why)
    {
        var disk = disks[index];
        var at = last.FirstOrDefault(p => p.Device == disk.Device) is { } seen ? $" at {ByteSize.Format(seen.CopiedBytes)} of {ByteSize.Format(seen.TotalBytes)}" : "";
        return new MigrationException("DiskCopyFailed", FailureKind.OperationFailed,
            $"The copy of {vm}'s disk {disk.Device} ({disk.Path}) to {destinationHost} failed{at}: {why}. {vm} runs on with its disks untouched", vm);
    }

    private sealed record JobState(string Status, long Offset, long Length, bool Ready, string? Error)
    {
        public static JobState From(JsonElement job) => new(
            job.GetProperty("status").GetString() ?? "",
            job.GetProperty("offset").GetInt64(),
            job.GetProperty("len").GetInt64(),
            job.TryGetProperty("ready", out var ready) && ready.GetBoolean(),
            job.TryGetProperty("error", out var error) ? error.GetString() : null);
    }
}
