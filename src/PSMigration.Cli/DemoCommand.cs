using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PSMigration.Cli.Demo;
using PSMigration.Core;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Agent;
using PSMigration.Engine.Security;
using PSMigration.Qemu.Incoming;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.Operations;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Cli;

/// <summary><c>psmig demo</c>: the main job on an embedded default, without root or an inventory.
/// Two hosts on this machine ("left" 127.0.0.1 and "right" 127.0.0.2, sharing loopback); a real
/// QEMU test guest on the left; the right's agent; a live migration through the engine over four
/// TLS connections; then the guest seen alive on the right with its memory verified.</summary>
public static class DemoCommand
{
    private const string VmName = "demo-vm";
    private const int MemoryMiB = 256;
    private const int DirtyMiBps = 20;
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(60);

    public static Command Create(CliOutput output)
    {
        var json = CommonOptions.Json();
        var keep = new Option<bool>("--keep") { Description = "Keep the demo's folder (inventory, PKI, serial logs) and print where it is." };
        var command = new Command("demo", "Live-migrate a test VM between two local hosts through the engine (no root, no inventory needed).") { json, keep };
        command.SetAction(parsed => Run(output, parsed.GetValue(json), parsed.GetValue(keep)).GetAwaiter().GetResult());
        return command;
    }

    private static async Task<int> Run(CliOutput output, bool json, bool keep)
    {
        var say = json ? TextWriter.Null : output.Out;
        var qemu = QemuTwinOptions.InstalledBinaries().FirstOrDefault(b => Path.GetFileName(b) == QemuSpec.DefaultBinary)
                   ?? throw new MigrationException("QemuNotInstalled", FailureKind.OperationFailed,
                       $"The demo needs QEMU: /usr/bin/{QemuSpec.DefaultBinary} is missing. Install it with: apt-get install qemu-system-x86", "demo");
        var folder = Directory.CreateTempSubdirectory("psmig-demo-").FullName;
        var left = Path.Combine(folder, "left");
        var right = Path.Combine(folder, "right");
        using var cancel = new CancellationTokenSource();
        using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            cancel.Cancel();
        });
        QemuInstance? sourceVm = null;
        MigrationAgent? agent = null;
        try
        {
            say.WriteLine($"PSMigration demo in {folder}");
            say.WriteLine("1. Building the test guest (tests/guest) with gcc...");
            var kernel = TestGuest.Build(folder);
            var inventoryPath = WriteInventory(folder, kernel);
            var inventory = InventoryLoader.Load(inventoryPath);
            ClusterCertificates.Initialize(inventory, Path.Combine(folder, "pki"));

            say.WriteLine("2. Starting the agent of 'right' (127.0.0.2) and the VM on 'left' (127.0.0.1)...");
            var agentLog = new List<string>();
            using var rightCredentials = ClusterPki.Load(Path.Combine(folder, "pki"), "right");
            agent = AgentLaunch.Start(new AgentSetup
            {
                Inventory = inventory, HostName = "right", Credentials = rightCredentials, PkiDirectory = Path.Combine(folder, "pki"),
                RunDirectory = right, QemuBinaries = [qemu], StorageRoots = [folder], Log = line => { lock (agentLog) agentLog.Add(line); },
            });
            Directory.CreateDirectory(left);
            var spec = inventory.Vm(VmName).Qemu!;
            sourceVm = await QemuInstance.StartAsync(VmName, new QemuCommandLine(qemu,
                spec.Args.Select(a => RunDirectory.Expand(a, left)).ToList(), RunDirectory.Expand(spec.Qmp, left), Path.Combine(left, VmName + ".pid")),
                new QemuArgumentPolicy(HostPathRoots.For(left, [folder])), "psmig demo", cancel.Token);
            await sourceVm.DisposeAsync(); // free its QMP socket for the migration
            var leftSerial = new SerialLog(Path.Combine(left, VmName + ".serial"));
            var before = await leftSerial.WaitForAsync(SerialLog.IsMemcheckOk, 1, 0, GuestTimeout, cancel.Token);
            say.WriteLine($"   guest on left: {before[0]} ({MemoryMiB} MiB filled with a random pattern, dirtying {DirtyMiBps} MiB/s)");

            var request = new MigrationOptions { Destination = "right", PkiDirectory = Path.Combine(folder, "pki"), RunDirectory = left, Log = output.Log }
                .RequestFor(inventory, VmName);
            var plan = request.Plan;
            say.WriteLine("3. The plan:");
            PlanText.Write(plan, say);

            say.WriteLine("4. Migrating...");
            var line = new ProgressLine(output.Error);
            using var launch = new MigrationLaunch([request]);
            var result = (await launch.RunAsync((_, _) => json ? null : new InlineProgress<MigrationProgress>(p => line.Show("   " + p.Describe())), null, cancel.Token))[0];
            line.Clear();
            ResultText.Write(result, say);
            output.Warnings(result.Warnings);
            if (!result.Succeeded)
            {
                output.Error.WriteLine($"psmig: {result.Error}");
                if (json) output.Json(new { plan, result });
                return CliApp.Failed;
            }

            say.WriteLine("5. The guest on 'right', after the migration:");
            var rightSerial = new SerialLog(Path.Combine(right, VmName + ".serial"));
            var checks = await rightSerial.WaitForAsync(SerialLog.IsMemcheckOk, 2, 0, GuestTimeout, cancel.Token);
            var beats = rightSerial.Lines().Where(SerialLog.IsHeartbeat).ToList();
            foreach (var shown in beats.TakeLast(1).Concat(checks.Take(2))) say.WriteLine($"   {shown}");
            var sourceGone = !QemuInstance.IsAlive(sourceVm.Pid);
            say.WriteLine($"   left's QEMU (pid {sourceVm.Pid}) {(sourceGone ? "has quit" : "is STILL RUNNING")}; " +
                          $"the inventory now says {VmName} is on {InventoryLoader.Load(inventoryPath).Vm(VmName).Host}");
            lock (agentLog) foreach (var logged in agentLog.Where(l => l.StartsWith("session", StringComparison.Ordinal))) say.WriteLine($"   agent: {logged}");
            if (json) output.Json(new { plan, result, destinationSerial = rightSerial.Lines(), sourceQuit = sourceGone });
            if (!sourceGone) return CliApp.Failed;
            say.WriteLine();
            say.WriteLine("Done: the VM moved live, with its memory intact. On your hosts: psmig migrate --inventory FILE --vm NAME --destination HOST");
            return CliApp.Done;
        }
        finally
        {
            await StopVmAsync(Path.Combine(right, VmName + ".qmp"));
            if (sourceVm is not null && QemuInstance.IsAlive(sourceVm.Pid)) QemuInstance.Kill(sourceVm.Pid);
            if (agent is not null) await agent.DisposeAsync();
            if (keep) say.WriteLine($"Kept {folder}");
            else Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The demo's inventory: the embedded template with a free agent port and the built guest.</summary>
    private static string WriteInventory(string folder, string kernel)
    {
        using var template = new StreamReader(typeof(DemoCommand).Assembly.GetManifestResourceStream("demo-inventory.yaml")!);
        var args = TestGuest.Args(kernel, MemoryMiB, DirtyMiBps, $"{RunDirectory.Placeholder}/{VmName}.serial");
        var text = template.ReadToEnd()
            .Replace("{port}", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{memory}", MemoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{args}", JsonSerializer.Serialize(args), StringComparison.Ordinal);
        var path = Path.Combine(folder, "inventory.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task StopVmAsync(string qmpPath)
    {
        try
        {
            await using var qmp = await QmpClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(2), CancellationToken.None);
            await qmp.ExecuteAsync("quit");
        }
        catch (QmpException)
        {
            // not running
        }
    }
}
