using PSMigration.Core;
using PSMigration.Core.Planning;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Tests;

/// <summary>
/// Copy-storage migrations of a test guest with a local qcow2 disk, from "left" to the agent of "right", with real
/// images: the guest's disk is written (qemu-io through the source's second monitor) while the mirror runs, and after
/// the move <c>qemu-img compare</c> finds the source's image (its QEMU gone) and the destination's identical. Each
/// transport, plain and TLS; then the faults: cancelled while copying or while memory moves, the destination's
/// filesystem too small or filling up: the source runs on with its image untouched, and every image the migration
/// created on "right" is gone, with no NBD node or job left on the source.
/// </summary>
[Collection(QemuLabCollection.Name)]
public sealed class DiskCopyTests(QemuLab lab)
{
    private static readonly PlanOverrides CopyStorage = new(CopyStorage: true);

    [QemuFact]
    public Task Engine_with_tls_copies_the_disk_over_the_agents_port() =>
        CopiesAsync("vm-disk-engine-tls", "{ parallel: Custom, connections: 2, transport: engine, encryption: tls }");

    [QemuFact]
    public Task Engine_plain() => CopiesAsync("vm-disk-engine-plain", "{ parallel: Disabled, transport: engine, encryption: none }");

    [QemuFact]
    public Task Direct_plain() => CopiesAsync("vm-disk-direct-plain", "{ parallel: Custom, connections: 2, transport: direct, encryption: none }");

    [QemuFact]
    public Task Direct_with_QEMUs_tls_on_the_NBD_connection_too() =>
        CopiesAsync("vm-disk-direct-tls", "{ parallel: Disabled, transport: direct, encryption: tls, storage: copy }", overrides: null);

    private async Task CopiesAsync(string vm, string policy, PlanOverrides? overrides = null)
    {
        var guest = new GuestSpec(vm, DiskMiB: 128);
        await using var run = await lab.StartAsync(policy, [guest]);
        var request = run.Request(vm, overrides ?? CopyStorage);
        Assert.True(request.Plan.CopyStorage);
        var phases = new List<string>();
        var diskProgress = new List<MigrationProgress>();
        using var memoryPhase = new CancellationTokenSource();
        var writesStopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new InlineProgress<MigrationProgress>(p =>
        {
            phases.Add(p.Phase);
            if (p.Disks is not null) diskProgress.Add(p);
            if (p.Phase != "migrating memory") return;
            // A guest's writes stop when QEMU pauses it; qemu-io's would not, so they stop before memory moves.
            memoryPhase.Cancel();
            writesStopped.Task.Wait(TimeSpan.FromSeconds(30));
        });

        var migration = MigrationBackends.MigrateAsync(request, progress, CancellationToken.None);
        var writes = WriteWhileMirroringAsync(run.SourceMonitor(vm), memoryPhase.Token, writesStopped);
        var result = await migration.WaitAsync(MigrationAssert.Hang);
        var written = await writes;

        MigrationAssert.Completed(result);
        Assert.True(written > 0, "test setup: no write reached the source while its disk was mirrored");
        var disk = Assert.Single(result.Disks);
        Assert.Equal((GuestSpec.DiskKey, run.DestinationImage(guest), run.SourceImage(guest)), (disk.Device, disk.Path, disk.SourcePath));
        Assert.True(result.DiskBytes >= 64L << 20, $"the disk holds 64 MiB of data, the copy sent {result.DiskBytes} bytes");
        Assert.Equal(result.DiskBytes, disk.Bytes);
        Assert.Contains(MigrationProgress.CopyingDisks, phases);
        Assert.True(phases.IndexOf(MigrationProgress.CopyingDisks) < phases.IndexOf("migrating memory"), string.Join(", ", phases.Distinct()));
        Assert.Contains(diskProgress, p => p.Disks!.Single().Device == GuestSpec.DiskKey && p.Disks![0].TotalBytes == 128L << 20);
        await MigrationAssert.GuestIntactAsync(run.DestinationSerial(vm));

        await QemuProcesses.WaitGoneAsync(run.SourcePid(vm));
        await QuitAsync(run.DestinationQmp(vm)); // its image closed, as the source's is
        Assert.Equal("Images are identical.", await Tool.RunAsync("qemu-img", "compare", run.SourceImage(guest), run.DestinationImage(guest)));
        Assert.True(File.Exists(run.SourceImage(guest)), "the source's image is never deleted");
    }

    /// <summary>Once the source has its mirror job, writes patterns to its disk through the second monitor until memory
    /// starts to move (<paramref name="stop"/>); returns how many writes QEMU took while the job existed.</summary>
    private static async Task<int> WriteWhileMirroringAsync(string monitor, CancellationToken stop, TaskCompletionSource stopped)
    {
        var written = 0;
        try
        {
            await using var qmp = await QmpClient.ConnectAsync(monitor, TimeSpan.FromSeconds(10), CancellationToken.None);
            while (!stop.IsCancellationRequested)
            {
                if ((await qmp.ExecuteAsync("query-block-jobs")).GetArrayLength() == 0)
                {
                    await Task.Delay(5);
                    continue;
                }
                var offset = (written % 32) * 1048576L + 70L * 1048576; // past the filled half, so every write changes the image
                await qmp.ExecuteAsync("human-monitor-command", new Dictionary<string, object>
                {
                    ["command-line"] = $"qemu-io {GuestSpec.DiskKey} \"write -P 0x{0x40 + written % 64:x2} {offset} 64k\"",
                });
                written++;
            }
        }
        finally
        {
            stopped.TrySetResult();
        }
        return written;
    }

    [QemuFact]
    public async Task WhatIf_lists_each_disk_from_the_running_VM_and_creates_nothing()
    {
        var guest = new GuestSpec("vm-disk-whatif", DiskMiB: 64);
        await using var run = await lab.StartAsync("{ parallel: Disabled, transport: engine, encryption: tls, bandwidthGbps: 2 }", [guest]);

        var steps = MigrationBackends.Describe(run.Request(guest.Name, CopyStorage));

        Assert.Contains($"disk to copy: {GuestSpec.DiskKey} {run.SourceImage(guest)} (qcow2, 64 MiB, ", string.Join("\n", steps));
        Assert.Contains(steps, s => s.StartsWith("right's agent at ", StringComparison.Ordinal) && s.Contains(": check its free space for ", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Contains("blockdev-mirror (sync full, write-blocking, speed: the 2 Gbit/s cap shared by the disks)", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.StartsWith("engine: 2 connection(s)", StringComparison.Ordinal) && s.Contains("one NBD stream per disk (1) first", StringComparison.Ordinal));
        Assert.False(File.Exists(run.DestinationImage(guest)));
        Assert.Equal(0, await BlockJobsAsync(run.SourceQmp(guest.Name)));
    }

    private static async Task<int> BlockJobsAsync(string qmpPath)
    {
        await using var qmp = await QmpClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(10), CancellationToken.None);
        return (await qmp.ExecuteAsync("query-block-jobs")).GetArrayLength();
    }

    [QemuFact]
    public async Task Cancelled_while_copying_the_disk_leaves_the_source_running_and_no_image_on_the_destination()
    {
        // 128 MiB at 0.1 Gbps (12.5 MB/s) through the engine: seconds of copying, time enough to cancel mid-way
        var guest = new GuestSpec("vm-disk-cancel-copy", DiskMiB: 256);
        await using var run = await lab.StartAsync("{ parallel: Disabled, transport: engine, encryption: none, bandwidthGbps: 0.1 }", [guest]);
        var result = await CancelWhenAsync(run, guest, p => p.Phase == MigrationProgress.CopyingDisks && p.Disks is [{ CopiedBytes: > 0 }]);

        Assert.Contains("while copying disks", result.Error);
        await SourceUntouchedAsync(run, guest);
    }

    [QemuFact]
    public async Task Cancelled_while_memory_moves_ends_the_mirror_and_removes_the_copy()
    {
        var guest = new GuestSpec("vm-disk-cancel-memory", MemoryMiB: 256, DiskMiB: 64);
        await using var run = await lab.StartAsync("{ parallel: Disabled, transport: engine, encryption: tls, bandwidthGbps: 0.1 }", [guest]);
        var result = await CancelWhenAsync(run, guest, p => p.Phase == "active");

        Assert.Contains("while migrating memory", result.Error);
        await SourceUntouchedAsync(run, guest);
    }

    [QemuAsRootFact]
    public async Task Destination_without_room_is_refused_before_anything_is_created_naming_host_path_and_sizes()
    {
        var guest = new GuestSpec("vm-disk-no-room", DiskMiB: 128, DiskFolder: "small-no-room");
        await using var small = await SmallFilesystem.MountAsync(Path.Combine(lab.RightRunDirectory, "small-no-room"), sizeMiB: 16);
        await using var run = await lab.StartAsync("{ parallel: Disabled, transport: engine, encryption: tls }", [guest]);

        var result = await MigrationBackends.MigrateAsync(run.Request(guest.Name, CopyStorage), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.Equal(MigrationStatusNames.Failed, result.Status);
        Assert.Equal("DestinationNotReady", result.ErrorId);
        Assert.Contains("the agent of right", result.Error);
        Assert.Contains($"{small.Path} has 16 MiB free", result.Error);
        Assert.Contains($"{run.DestinationImage(guest)} need 64", result.Error);
        Assert.Empty(Directory.GetFiles(small.Path));
        await SourceUntouchedAsync(run, guest);
    }

    [QemuAsRootFact]
    public async Task Destination_filling_up_during_the_copy_fails_it_the_source_runs_on_and_the_image_is_removed()
    {
        var guest = new GuestSpec("vm-disk-fills-up", DiskMiB: 256, DiskFolder: "small-fills-up");
        await using var small = await SmallFilesystem.MountAsync(Path.Combine(lab.RightRunDirectory, "small-fills-up"), sizeMiB: 160);
        await using var run = await lab.StartAsync("{ parallel: Disabled, transport: engine, encryption: none, bandwidthGbps: 0.2 }", [guest]);
        var filled = false;
        var progress = new InlineProgress<MigrationProgress>(p =>
        {
            if (filled || p.Disks is not [{ CopiedBytes: > 0 }]) return;
            filled = true; // the check passed (128 MiB fit); now something else takes the room
            using var filler = File.Create(Path.Combine(small.Path, "filler"));
            filler.SetLength(0);
            var block = new byte[1 << 20];
            try
            {
                while (true) filler.Write(block);
            }
            catch (IOException)
            {
                // full
            }
        });

        var result = await MigrationBackends.MigrateAsync(run.Request(guest.Name, CopyStorage), progress, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        Assert.True(filled, "test setup: the copy never started");
        Assert.Equal(MigrationStatusNames.Failed, result.Status);
        Assert.Equal("DiskCopyFailed", result.ErrorId);
        Assert.Contains($"disk {GuestSpec.DiskKey} ({run.SourceImage(guest)}) to right failed", result.Error);
        Assert.Contains("runs on with its disks untouched", result.Error);
        File.Delete(Path.Combine(small.Path, "filler"));
        await SourceUntouchedAsync(run, guest);
    }

    private static async Task<MigrationResult> CancelWhenAsync(LabRun run, GuestSpec guest, Func<MigrationProgress, bool> when)
    {
        using var cancel = new CancellationTokenSource();
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new InlineProgress<MigrationProgress>(p =>
        {
            if (when(p)) reached.TrySetResult();
        });
        var migration = MigrationBackends.MigrateAsync(run.Request(guest.Name, CopyStorage), progress, cancel.Token);
        await Task.WhenAny(reached.Task, migration).WaitAsync(MigrationAssert.Hang);
        Assert.False(migration.IsCompleted, $"test setup: the migration ended before it was cancelled: {(migration.IsCompleted ? migration.Result.Error : "")}");
        cancel.Cancel();
        var result = await migration.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(MigrationStatusNames.Cancelled, result.Status);
        Assert.Empty(result.Disks);
        return result;
    }

    /// <summary>After a failure: the source runs with its image as it was, holds no NBD node or mirror job, and "right"
    /// has neither the twin nor the image made for it.</summary>
    private static async Task SourceUntouchedAsync(LabRun run, GuestSpec guest)
    {
        Assert.True(QemuInstance.IsAlive(run.SourcePid(guest.Name)), "the source QEMU must survive");
        Assert.Equal("running", await QemuLab.RunStateAsync(run.SourceQmp(guest.Name)));
        await using (var qmp = await QmpClient.ConnectAsync(run.SourceQmp(guest.Name), TimeSpan.FromSeconds(10), CancellationToken.None))
        {
            Assert.Equal(0, (await qmp.ExecuteAsync("query-block-jobs")).GetArrayLength());
            var nodes = (await qmp.ExecuteAsync("query-named-block-nodes")).EnumerateArray().Select(n => n.GetProperty("node-name").GetString()).ToList();
            Assert.DoesNotContain(nodes, n => n!.StartsWith("psmig-", StringComparison.Ordinal));
        }
        var read = await Tool.RunAsync("qemu-io", "-r", "-U", "-c", $"read -P 0x11 0 {guest.DiskMiB / 2}M", run.SourceImage(guest));
        Assert.DoesNotContain("Pattern verification failed", read);
        await Eventually.TrueAsync(() => QemuProcesses.Matching(run.TwinFiles(guest.Name)).Count == 0, "the twin is stopped");
        await Eventually.TrueAsync(() => !File.Exists(run.DestinationImage(guest)), $"{run.DestinationImage(guest)} is removed");
        Assert.Contains("host: left", File.ReadAllText(run.InventoryPath));
    }

    private static async Task QuitAsync(string qmpPath)
    {
        await using var qmp = await QmpClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(10), CancellationToken.None);
        try
        {
            await qmp.ExecuteAsync("quit");
            await qmp.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (QmpException)
        {
            // quit closes the socket, sometimes before its answer
        }
        await Task.Delay(200); // its process lets go of the image
    }
}

/// <summary>A tmpfs of a few MiB mounted for one test (root only): a destination filesystem that is too small.</summary>
public sealed class SmallFilesystem : IAsyncDisposable
{
    private SmallFilesystem(string path) => Path = path;

    public string Path { get; }

    public static async Task<SmallFilesystem> MountAsync(string path, int sizeMiB)
    {
        Directory.CreateDirectory(path);
        await Tool.RunAsync("mount", "-t", "tmpfs", "-o", $"size={sizeMiB}m", "tmpfs", path);
        return new SmallFilesystem(path);
    }

    public async ValueTask DisposeAsync()
    {
        await Tool.TryRunAsync("umount", "-l", Path);
        Directory.Delete(Path, recursive: true);
    }
}
