using PSMigration.Cli.Demo;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Tests;

/// <summary>One test's VMs in the lab: its own inventory file and "left" run directory, the source
/// QEMUs it started, and the paths of their twins on "right". Disposing stops every QEMU of these VMs,
/// on either side.</summary>
public sealed class LabRun : IAsyncDisposable
{
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(90);
    private readonly QemuLab lab;
    private readonly Dictionary<string, int> sourcePids = new();

    internal LabRun(QemuLab lab, string directory, IReadOnlyList<GuestSpec> guests)
    {
        this.lab = lab;
        Directory = directory;
        Guests = guests;
    }

    public string Directory { get; }
    public IReadOnlyList<GuestSpec> Guests { get; }
    public string InventoryPath => Path.Combine(Directory, "inventory.yaml");
    public string LeftRunDirectory => Path.Combine(Directory, "left");

    public string SourceQmp(string vm) => Path.Combine(LeftRunDirectory, vm + ".qmp");
    public string DestinationQmp(string vm) => Path.Combine(lab.RightRunDirectory, vm + ".qmp");
    public SerialLog SourceSerial(string vm) => new(Path.Combine(LeftRunDirectory, vm + ".serial"));
    public SerialLog DestinationSerial(string vm) => new(Path.Combine(lab.RightRunDirectory, vm + ".serial"));
    /// <summary>What every file and process of the VM's twin on "right" has in its path.</summary>
    public string TwinFiles(string vm) => Path.Combine(lab.RightRunDirectory, vm + ".");
    public int SourcePid(string vm) => sourcePids[vm];

    /// <summary>Starts the VM on "left" as the inventory says, and waits until the guest has filled
    /// its memory and verified it once.</summary>
    /// <param name="runAs">An unprivileged user the source QEMU switches to (as a hardened host runs its VMs).</param>
    internal async Task StartSourceAsync(string vm, string? runAs = null)
    {
        var spec = InventoryLoader.Load(InventoryPath).Vm(vm).Qemu!;
        if (Guests.First(g => g.Name == vm) is { DiskMiB: > 0 } withDisk)
        {
            await StartWithDiskAsync(withDisk, spec);
            return;
        }
        var commandLine = new QemuCommandLine(spec.Binary == Path.GetFileName(QemuEnvironment.QemuBinary) ? QemuEnvironment.QemuBinary : spec.Binary,
            spec.Args.Select(a => Launch.RunDirectory.Expand(a, LeftRunDirectory)).ToList(), SourceQmp(vm), Path.Combine(LeftRunDirectory, vm + ".pid"))
        {
            RunAs = runAs,
        };
        var qemu = await QemuInstance.StartAsync(vm, commandLine, QemuEnvironment.Policy(LeftRunDirectory, lab.Root), "left", CancellationToken.None);
        sourcePids[vm] = qemu.Pid;
        await qemu.DisposeAsync(); // free its QMP socket for the migration
        await SourceSerial(vm).WaitForAsync(SerialLog.IsMemcheckOk, 1, 0, GuestTimeout, CancellationToken.None);
    }

    /// <summary>The source image of a guest's disk on "left", and where the copy goes on "right".</summary>
    public string SourceImage(GuestSpec guest) => Launch.RunDirectory.Expand(guest.DiskPath, LeftRunDirectory);
    public string DestinationImage(GuestSpec guest) => Launch.RunDirectory.Expand(guest.DiskPath, lab.RightRunDirectory);
    /// <summary>A second QMP monitor of a source with a disk: the migration holds the first; a test writes to the disk here.</summary>
    public string SourceMonitor(string vm) => Path.Combine(LeftRunDirectory, vm + ".monitor");

    /// <summary>A source with a disk: its image made and filled first, and a second QMP monitor, so the test can write
    /// to the disk (qemu-io through human-monitor-command) while the migration holds the first. Started as QEMU is,
    /// not through the argument policy (which refuses an extra monitor).</summary>
    private async Task StartWithDiskAsync(GuestSpec guest, QemuSpec spec)
    {
        var image = SourceImage(guest);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        await Tool.RunAsync("qemu-img", "create", "-q", "-f", "qcow2", image, $"{guest.DiskMiB}M");
        await Tool.RunAsync("qemu-io", "-c", $"write -P 0x11 0 {guest.DiskMiB / 2}M", image);
        var pidFile = Path.Combine(LeftRunDirectory, guest.Name + ".pid");
        await Tool.RunAsync(QemuEnvironment.QemuBinary, [.. spec.Args.Select(a => Launch.RunDirectory.Expand(a, LeftRunDirectory)),
            "-qmp", $"unix:{SourceQmp(guest.Name)},server=on,wait=off", "-qmp", $"unix:{SourceMonitor(guest.Name)},server=on,wait=off",
            "-pidfile", pidFile, "-daemonize"]);
        sourcePids[guest.Name] = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await SourceSerial(guest.Name).WaitForAsync(SerialLog.IsMemcheckOk, 1, 0, GuestTimeout, CancellationToken.None);
    }

    public MigrationPlan Plan(string vm, PlanOverrides? overrides = null) =>
        MigrationPlanner.Plan(InventoryLoader.Load(InventoryPath), vm, QemuLab.DestinationHost, null, overrides);

    /// <summary>The request psmig migrate would make on "left" for <paramref name="vm"/>.</summary>
    public MigrationRequest Request(string vm, PlanOverrides? overrides = null) => new()
    {
        Plan = Plan(vm, overrides),
        Vm = InventoryLoader.Load(InventoryPath).Vm(vm),
        Credentials = lab.LeftCredentials,
        PkiDirectory = lab.PkiDirectory,
        RunDirectory = LeftRunDirectory,
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var guest in Guests)
        {
            if (guest.DiskMiB > 0) File.Delete(DestinationImage(guest)); // a copy a test kept
            await QuitAsync(DestinationQmp(guest.Name));
            await QemuProcesses.KillAllAsync(TwinFiles(guest.Name));
        }
        await QemuProcesses.KillAllAsync(LeftRunDirectory + "/");
    }

    private static async Task QuitAsync(string qmpPath)
    {
        try
        {
            await using var qmp = await QmpClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(2), CancellationToken.None);
            await qmp.ExecuteAsync("quit");
        }
        catch (QmpException)
        {
            // not running, or gone before answering
        }
    }
}
