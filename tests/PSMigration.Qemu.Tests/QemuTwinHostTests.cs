using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;
using PSMigration.Qemu.Incoming;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.QemuMigration;

namespace PSMigration.Qemu.Tests;

/// <summary>The agent's twin starter on its own, in a private run directory, with its own inventory: it starts what that
/// inventory says, refuses what the source describes otherwise and what the argument policy refuses, confines every
/// twin, clears leftovers, and stops the orphaned twins of a crashed agent.</summary>
[Collection(QemuLabCollection.Name)]
public sealed class QemuTwinHostTests : IDisposable
{
    private readonly string runDirectory = Directory.CreateTempSubdirectory("psmig-twins-").FullName;
    private readonly string inventoryDirectory = Directory.CreateTempSubdirectory("psmig-twins-inventory-").FullName;
    private readonly ConcurrentQueue<string> log = new();

    private string InventoryPath => Path.Combine(inventoryDirectory, "right.yaml");

    [Fact]
    public async Task Binary_not_in_its_list_is_refused_naming_what_it_runs()
    {
        var vm = Vm("vm-arm") with { Binary = "qemu-system-aarch64" };
        var host = Host([QemuEnvironment.QemuBinary], ("vm-arm", vm));

        var e = await Assert.ThrowsAsync<MigrationException>(() => host.PrepareAsync(Request("vm-arm", vm), "left", CancellationToken.None));

        Assert.Equal("QemuBinaryNotAllowed", e.ErrorId);
        Assert.Contains("runs only qemu-system-x86_64", e.Message);
        Assert.Contains("'qemu-system-aarch64' for vm-arm", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(runDirectory));
    }

    [Fact]
    public async Task Empty_binary_list_is_refused_saying_no_QEMU_is_configured()
    {
        var host = Host([], ("vm-none", Vm("vm-none")));

        var e = await Assert.ThrowsAsync<MigrationException>(() => host.PrepareAsync(Request("vm-none", Vm("vm-none")), "left", CancellationToken.None));

        Assert.Equal("QemuBinaryNotAllowed", e.ErrorId);
        Assert.Contains("runs only no QEMU (none installed or configured)", e.Message);
    }

    [Fact]
    public async Task Arguments_the_source_adds_are_refused_as_a_stale_inventory_and_nothing_starts()
    {
        var destination = Vm("vm-foreign");
        var leak = Path.Combine(inventoryDirectory, "leak");
        var source = destination with { Args = [.. destination.Args, "-chardev", $"file,id=pw,path={leak}", "-serial", "chardev:pw"] };
        var host = Host([QemuEnvironment.QemuBinary], ("vm-foreign", destination));

        var e = await Assert.ThrowsAsync<MigrationException>(() => host.PrepareAsync(Request("vm-foreign", source), "left", CancellationToken.None));

        Assert.Equal("InventoriesDiffer", e.ErrorId);
        Assert.Contains($"The inventories of left and right describe vm-foreign differently: argument {destination.Args.Count + 1} is '-chardev' on left but absent on right", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(runDirectory));
        Assert.False(File.Exists(leak));
    }

    [Fact]
    public async Task A_dangerous_argument_in_its_own_inventory_is_refused_before_starting_anything()
    {
        var vm = Vm("vm-hijack") with { Args = [.. BareQemu.Args, "-drive", "file=/etc/hostname,format=raw", "-incoming", "tcp:0.0.0.0:4444"] };
        var host = Host([QemuEnvironment.QemuBinary], ("vm-hijack", vm));

        var e = await Assert.ThrowsAsync<MigrationException>(() => host.PrepareAsync(Request("vm-hijack", vm), "left", CancellationToken.None));

        Assert.Equal("QemuArgumentRefused", e.ErrorId);
        Assert.Contains("the agent of right refuses the qemu args of vm-hijack", e.Message);
        Assert.Contains("'/etc/hostname' is outside the agent's roots", e.Message);
        Assert.Contains("'-incoming': the module sets it itself", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(runDirectory));
        Assert.Contains("refuses the qemu args of vm-hijack", (await host.CheckAsync(Request("vm-hijack", vm), "left", CancellationToken.None)).Problem); // readiness says the same
    }

    [QemuFact]
    public async Task Vm_already_answering_on_the_QMP_path_is_refused_and_left_running()
    {
        await using var running = await BareQemu.StartAsync(runDirectory, "vm-busy");
        var host = Host([QemuEnvironment.QemuBinary], ("vm-busy", Vm("vm-busy")));

        var e = await Assert.ThrowsAsync<MigrationException>(() => host.PrepareAsync(Request("vm-busy", Vm("vm-busy")), "left", CancellationToken.None));

        Assert.Equal("VMAlreadyRunning", e.ErrorId);
        Assert.Contains(running.QmpPath, e.Message);
        Assert.Contains("vm-busy", e.Message);
        Assert.Equal([running.Pid], QemuProcesses.Matching(runDirectory));
        Assert.True(File.Exists(running.QmpPath));
        Assert.Equal("running", await QemuLab.RunStateAsync(running.QmpPath));
    }

    [QemuFact]
    public async Task Stale_socket_is_removed_and_the_twin_starts_sandboxed_waiting_for_the_stream()
    {
        await using var crashed = await BareQemu.StartAsync(runDirectory, "vm-stale", pidFileName: "crashed.pid");
        var qmpPath = await crashed.CrashAsync(); // its socket file stays
        var host = Host([QemuEnvironment.QemuBinary], ("vm-stale", Vm("vm-stale")));

        var twin = await host.PrepareAsync(Request("vm-stale", Vm("vm-stale")), "left", CancellationToken.None);
        int pid;
        try
        {
            Assert.Equal(qmpPath, twin.QmpPath);
            Assert.Matches(@"^tcp:127\.0\.0\.2:[1-9][0-9]*$", twin.Uri); // QEMU picked the port
            Assert.Null(twin.RelayPath);
            var pidFile = Path.Combine(runDirectory, "vm-stale" + TwinRequest.UncommittedPidSuffix);
            pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
            Assert.Equal([pid], QemuProcesses.Matching(qmpPath));
            Assert.Contains(log, l => l.Contains($"started vm-stale's twin for left: pid {pid}", StringComparison.Ordinal));
            var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            Assert.Equal("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", commandLine[Array.IndexOf(commandLine, "-sandbox") + 1]);
            Assert.Contains("Seccomp:\t2", File.ReadAllText($"/proc/{pid}/status")); // the filter is on, not only asked for
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
    public async Task Engine_twin_listens_on_a_unix_socket_in_its_own_folder_which_goes_with_it()
    {
        var host = Host([QemuEnvironment.QemuBinary], ("vm-relay", Vm("vm-relay")));

        var twin = await host.PrepareAsync(Request("vm-relay", Vm("vm-relay")) with { Transport = MigrationTransport.Engine }, "left", CancellationToken.None);
        string folder;
        await using (twin)
        {
            Assert.NotNull(twin.RelayPath);
            folder = Path.GetDirectoryName(twin.RelayPath)!;
            Assert.Equal(runDirectory, Path.GetDirectoryName(folder));
            Assert.Matches(@"^vm-relay\.[0-9a-f]{8}\.twin$", Path.GetFileName(folder));
            Assert.Equal("unix:" + twin.RelayPath, twin.Uri);
            Assert.True(File.Exists(twin.RelayPath), "QEMU should be listening on the relay socket");
        }

        Assert.False(Directory.Exists(folder));
    }

    [QemuAsRootFact]
    public async Task A_twin_user_runs_the_twin_as_that_user_with_its_folder_given_to_it()
    {
        var nobody = Accounts.UnixAccount.Lookup("nobody");
        var host = Host([QemuEnvironment.QemuBinary], ("vm-user", Vm("vm-user")), twinUser: "nobody");

        await using var twin = await host.PrepareAsync(Request("vm-user", Vm("vm-user")) with { Transport = MigrationTransport.Engine }, "left", CancellationToken.None);

        var pid = int.Parse(File.ReadAllText(Path.Combine(runDirectory, "vm-user" + TwinRequest.UncommittedPidSuffix)).Trim(), CultureInfo.InvariantCulture);
        var status = File.ReadAllLines($"/proc/{pid}/status");
        Assert.Equal(nobody.Uid.ToString(CultureInfo.InvariantCulture), status.Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t')[1]);
        Assert.Contains("Seccomp:\t2", status);
        Assert.True(File.Exists(twin.RelayPath), "QEMU, as nobody, created its incoming socket in its folder");
        Assert.Contains(log, l => l.Contains("as nobody", StringComparison.Ordinal));
    }

    [QemuFact]
    public async Task New_host_stops_uncommitted_twins_left_by_a_crashed_agent_and_nothing_else()
    {
        var orphan = await BareQemu.StartAsync(runDirectory, "vm-orphan", pidFileName: "vm-orphan" + TwinRequest.UncommittedPidSuffix);
        var committed = await BareQemu.StartAsync(runDirectory, "vm-committed"); // vm-committed.pid: a twin that became the VM
        var leftoverFolder = Directory.CreateDirectory(Path.Combine(runDirectory, "vm-orphan.0123abcd.twin")).FullName;
        using var notQemu = Process.Start("sleep", "600");
        var notQemuPidFile = Path.Combine(runDirectory, "vm-reused" + TwinRequest.UncommittedPidSuffix);
        File.WriteAllText(notQemuPidFile, notQemu.Id.ToString(CultureInfo.InvariantCulture)); // a pid reused by another program
        try
        {
            _ = Host([QemuEnvironment.QemuBinary]);

            await QemuProcesses.WaitGoneAsync(orphan.Pid);
            Assert.False(File.Exists(Path.Combine(runDirectory, "vm-orphan" + TwinRequest.UncommittedPidSuffix)));
            Assert.Contains(log, l => l.Contains($"stopped pid {orphan.Pid}", StringComparison.Ordinal));
            Assert.True(QemuInstance.IsAlive(committed.Pid), "a committed VM must survive an agent restart");
            Assert.False(notQemu.HasExited, "a process that is not QEMU must never be killed");
            Assert.False(File.Exists(notQemuPidFile));
            Assert.False(Directory.Exists(leftoverFolder));
        }
        finally
        {
            notQemu.Kill();
            await orphan.DisposeAsync();
            await committed.DisposeAsync();
        }
    }

    /// <summary>A twin host whose inventory places these VMs on "left".</summary>
    private QemuTwinHost Host(IReadOnlyList<string> binaries, params (string Name, QemuSpec Spec)[] vms) => Host(binaries, vms, twinUser: null);

    private QemuTwinHost Host(IReadOnlyList<string> binaries, (string Name, QemuSpec Spec) vm, string? twinUser) => Host(binaries, [vm], twinUser);

    private QemuTwinHost Host(IReadOnlyList<string> binaries, (string Name, QemuSpec Spec)[] vms, string? twinUser)
    {
        File.WriteAllText(InventoryPath, InventoryYaml(vms));
        return new QemuTwinHost(new QemuTwinOptions
        {
            HostName = "right",
            InventoryPath = InventoryPath,
            Binaries = binaries,
            RunDirectory = runDirectory,
            PkiDirectory = Path.Combine(inventoryDirectory, "no-pki"),
            TwinUser = twinUser,
            Log = log.Enqueue,
        });
    }

    private static QemuSpec Vm(string name) => new($"{RunDirectory.Placeholder}/{name}.qmp", BareQemu.Args);

    private static TwinRequest Request(string vm, QemuSpec sourceView) => new()
    {
        Vm = vm,
        SourceQemu = sourceView,
        Settings = new MigrationSettings { MaxBandwidth = 1L << 30 },
        Transport = MigrationTransport.Direct,
        ListenAddress = System.Net.IPAddress.Parse("127.0.0.2"),
    };

    private static string InventoryYaml(IEnumerable<(string Name, QemuSpec Spec)> vms)
    {
        var entries = new StringBuilder();
        foreach (var (name, spec) in vms)
            entries.Append(CultureInfo.InvariantCulture, $"""
                  - name: {name}
                    host: left
                    vcpus: 1
                    memoryMiB: 64
                    qemu:
                      binary: {spec.Binary}
                      qmp: "{spec.Qmp}"
                      args: {JsonSerializer.Serialize(spec.Args)}

                """);
        return $"""
            networks:
              - name: loop
                cidr: 127.0.0.0/8
                role: migration
            hosts:
              - name: left
                cpuThreads: 4
                interfaces:
                  - name: lo
                    addresses: [127.0.0.1/8]
                    speedGbps: 10
              - name: right
                cpuThreads: 4
                interfaces:
                  - name: lo
                    addresses: [127.0.0.2/8]
                    speedGbps: 10

            """ + (entries.Length == 0 ? "vms: []\n" : "vms:\n" + entries);
    }

    public void Dispose()
    {
        QemuProcesses.KillAllAsync(runDirectory).GetAwaiter().GetResult();
        Directory.Delete(runDirectory, recursive: true);
        Directory.Delete(inventoryDirectory, recursive: true);
    }
}
