using PSMigration.Qemu.QemuMigration;
using PSMigration.Core.Policies;
using System.Collections.Concurrent;
using System.Diagnostics;
using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Incoming;
using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Tests;

/// <summary>The agent's twin starter on its own, in a private run directory: what it refuses, how it
/// clears leftovers, and the orphaned twins of a crashed agent.</summary>
[Collection(QemuLabCollection.Name)]
public sealed class QemuTwinHostTests : IDisposable
{
    private readonly string runDirectory = Directory.CreateTempSubdirectory("psmig-twins-").FullName;
    private readonly ConcurrentQueue<string> log = new();

    [Fact]
    public async Task Binary_not_in_its_list_is_refused_naming_what_it_runs()
    {
        var host = new QemuTwinHost(Options([QemuEnvironment.QemuBinary]));

        var e = await Assert.ThrowsAsync<MigrationException>(() => host.PrepareAsync(Request("vm-arm", binary: "qemu-system-aarch64"), "left", CancellationToken.None));

        Assert.Equal("QemuBinaryNotAllowed", e.ErrorId);
        Assert.Contains("runs only qemu-system-x86_64", e.Message);
        Assert.Contains("'qemu-system-aarch64' for vm-arm", e.Message);
        Assert.Empty(Directory.GetFiles(runDirectory));
    }

    [Fact]
    public async Task Empty_binary_list_is_refused_saying_no_QEMU_is_configured()
    {
        var host = new QemuTwinHost(Options([]));

        var e = await Assert.ThrowsAsync<MigrationException>(() => host.PrepareAsync(Request("vm-none"), "left", CancellationToken.None));

        Assert.Equal("QemuBinaryNotAllowed", e.ErrorId);
        Assert.Contains("runs only no QEMU (none installed or configured)", e.Message);
    }

    [Fact]
    public async Task Reserved_option_in_the_requested_args_is_refused_before_starting_anything()
    {
        var host = new QemuTwinHost(Options([QemuEnvironment.QemuBinary]));

        var e = await Assert.ThrowsAsync<MigrationException>(() =>
            host.PrepareAsync(Request("vm-hijack") with { Args = [.. BareQemu.Args, "-incoming", "tcp:0.0.0.0:4444"] }, "left", CancellationToken.None));

        Assert.Equal("QemuArgsReserved", e.ErrorId);
        Assert.Empty(Directory.GetFiles(runDirectory));
    }

    [QemuFact]
    public async Task Vm_already_answering_on_the_QMP_path_is_refused_and_left_running()
    {
        await using var running = await BareQemu.StartAsync(runDirectory, "vm-busy");
        var host = new QemuTwinHost(Options([QemuEnvironment.QemuBinary]));

        var e = await Assert.ThrowsAsync<MigrationException>(() => host.PrepareAsync(Request("vm-busy"), "left", CancellationToken.None));

        Assert.Equal("VMAlreadyRunning", e.ErrorId);
        Assert.Contains(running.QmpPath, e.Message);
        Assert.Contains("vm-busy", e.Message);
        Assert.Equal([running.Pid], QemuProcesses.Matching(runDirectory));
        Assert.True(File.Exists(running.QmpPath));
        Assert.Equal("running", await QemuLab.RunStateAsync(running.QmpPath));
    }

    [QemuFact]
    public async Task Stale_socket_is_removed_and_the_twin_starts_waiting_for_the_stream()
    {
        await using var crashed = await BareQemu.StartAsync(runDirectory, "vm-stale", pidFileName: "crashed.pid");
        var qmpPath = await crashed.CrashAsync(); // its socket file stays
        var host = new QemuTwinHost(Options([QemuEnvironment.QemuBinary]));

        var twin = await host.PrepareAsync(Request("vm-stale"), "left", CancellationToken.None);
        int pid;
        try
        {
            Assert.Equal(qmpPath, twin.QmpPath);
            Assert.Matches(@"^tcp:127\.0\.0\.2:[1-9][0-9]*$", twin.Uri); // QEMU picked the port
            Assert.Null(twin.RelayPath);
            var pidFile = Path.Combine(runDirectory, "vm-stale" + TwinRequest.UncommittedPidSuffix);
            pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal([pid], QemuProcesses.Matching(qmpPath));
            Assert.Contains(log, l => l.Contains($"started vm-stale's twin for left: pid {pid}", StringComparison.Ordinal));
        }
        finally
        {
            await twin.DisposeAsync(); // uncommitted: stopped
        }

        Assert.False(QemuInstance.IsAlive(pid));
        Assert.False(File.Exists(qmpPath));
        Assert.False(File.Exists(Path.Combine(runDirectory, "vm-stale" + TwinRequest.UncommittedPidSuffix)));
    }

    [QemuFact]
    public async Task Engine_twin_listens_on_a_unix_socket_in_the_run_directory()
    {
        var host = new QemuTwinHost(Options([QemuEnvironment.QemuBinary]));

        await using var twin = await host.PrepareAsync(Request("vm-relay") with { Transport = MigrationTransport.Engine }, "left", CancellationToken.None);

        Assert.NotNull(twin.RelayPath);
        Assert.Equal(runDirectory, Path.GetDirectoryName(twin.RelayPath));
        Assert.Equal("unix:" + twin.RelayPath, twin.Uri);
        Assert.True(File.Exists(twin.RelayPath), "QEMU should be listening on the relay socket");
    }

    [QemuFact]
    public async Task New_host_stops_uncommitted_twins_left_by_a_crashed_agent_and_nothing_else()
    {
        var orphan = await BareQemu.StartAsync(runDirectory, "vm-orphan", pidFileName: "vm-orphan" + TwinRequest.UncommittedPidSuffix);
        var committed = await BareQemu.StartAsync(runDirectory, "vm-committed"); // vm-committed.pid: a twin that became the VM
        using var notQemu = Process.Start("sleep", "600");
        var notQemuPidFile = Path.Combine(runDirectory, "vm-reused" + TwinRequest.UncommittedPidSuffix);
        File.WriteAllText(notQemuPidFile, notQemu.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)); // a pid reused by another program
        try
        {
            _ = new QemuTwinHost(Options([QemuEnvironment.QemuBinary]));

            await QemuProcesses.WaitGoneAsync(orphan.Pid);
            Assert.False(File.Exists(Path.Combine(runDirectory, "vm-orphan" + TwinRequest.UncommittedPidSuffix)));
            Assert.Contains(log, l => l.Contains($"stopped pid {orphan.Pid}", StringComparison.Ordinal));
            Assert.True(QemuInstance.IsAlive(committed.Pid), "a committed VM must survive an agent restart");
            Assert.False(notQemu.HasExited, "a process that is not QEMU must never be killed");
            Assert.False(File.Exists(notQemuPidFile));
        }
        finally
        {
            notQemu.Kill();
            await orphan.DisposeAsync();
            await committed.DisposeAsync();
        }
    }

    private QemuTwinOptions Options(IReadOnlyList<string> binaries) => new()
    {
        HostName = "right",
        Binaries = binaries,
        RunDirectory = runDirectory,
        PkiDirectory = Path.Combine(runDirectory, "no-pki"),
        Log = log.Enqueue,
    };

    private static TwinRequest Request(string vm, string binary = "qemu-system-x86_64") => new()
    {
        Vm = vm,
        Binary = binary,
        Args = BareQemu.Args,
        Qmp = $"{RunDirectory.Placeholder}/{vm}.qmp",
        Settings = new MigrationSettings { MaxBandwidth = 1L << 30 },
        Transport = MigrationTransport.Direct,
        ListenAddress = System.Net.IPAddress.Parse("127.0.0.2"),
    };

    public void Dispose()
    {
        QemuProcesses.KillAllAsync(runDirectory).GetAwaiter().GetResult();
        Directory.Delete(runDirectory, recursive: true);
    }
}
