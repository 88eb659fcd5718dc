using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Security;
using PSMigration.Qemu.Incoming;
using PSMigration.Qemu.Operations;

namespace PSMigration.Cli;

/// <summary><c>psmig agent</c>: the destination agent daemon. Logs one line per session on stderr;
/// SIGTERM or SIGINT stops it cleanly (open sessions are aborted, the source sees why).</summary>
public static class AgentCommand
{
    public static Command Create(CliOutput output)
    {
        var inventory = CommonOptions.Inventory();
        var pki = CommonOptions.Pki();
        var host = new Option<string>("--host") { Description = "This host's name in the inventory.", Required = true, HelpName = "HOST" };
        var allow = new Option<string[]>("--allow")
        {
            Description = "Also accept sources in this CIDR (repeatable); the inventory's hosts are always accepted.",
            HelpName = "CIDR",
            AllowMultipleArgumentsPerToken = true,
        };
        var runDir = CommonOptions.RunDirectory();
        var qemu = new Option<string[]>("--qemu")
        {
            Description = "A QEMU system emulator this agent may start twins with (repeatable; default: every /usr/bin/qemu-system-*). Only qemu-system-* binaries.",
            HelpName = "PATH",
            AllowMultipleArgumentsPerToken = true,
        };
        var storage = new Option<string[]>("--storage-root")
        {
            Description = "A folder where VMs' disks, kernels and other files may be (repeatable). A twin's arguments may name host paths " +
                          "only there, in the run directory and in QEMU's firmware folders.",
            HelpName = "DIR",
            AllowMultipleArgumentsPerToken = true,
        };
        var twinUser = new Option<string?>("--twin-user")
        {
            Description = "Run the twins as this unprivileged user once QEMU is set up (-runas). Default: root, in QEMU's sandbox.",
            HelpName = "USER",
        };
        var command = new Command("agent", "Run the destination agent: receive migrations and network-test traffic on this host.")
        {
            inventory, host, pki, allow, runDir, qemu, storage, twinUser,
        };
        command.SetAction(parsed =>
        {
            var loaded = CommonOptions.LoadInventory(parsed, inventory, output);
            var extra = (parsed.GetValue(allow) ?? []).Select(text => ParseCidr(text)).ToList();
            using var credentials = ClusterPki.Load(parsed.GetValue(pki)!, parsed.GetValue(host)!);
            var log = (string line) =>
            {
                lock (output.Error) output.Error.WriteLine($"{DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)} {line}");
            };
            var setup = new AgentSetup
            {
                Inventory = loaded,
                HostName = parsed.GetValue(host)!,
                Credentials = credentials,
                PkiDirectory = parsed.GetValue(pki)!,
                RunDirectory = parsed.GetValue(runDir)!,
                QemuBinaries = QemuBinaries(parsed.GetValue(qemu)),
                StorageRoots = StorageRoots(parsed.GetValue(storage)),
                TwinUser = parsed.GetValue(twinUser),
                ExtraAllowed = extra,
                Log = log,
            };
            using var stop = new CancellationTokenSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            var agent = AgentLaunch.Start(setup);
            stop.Token.WaitHandle.WaitOne();
            log("stopping");
            agent.DisposeAsync().AsTask().GetAwaiter().GetResult();
            log("stopped");
            return CliApp.Done;

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true; // stop in order instead of being killed
                stop.Cancel();
            }
        });
        return command;
    }

    /// <summary>Absolute folders that exist: a typo here would silently refuse every VM's disks.</summary>
    private static IReadOnlyList<string> StorageRoots(string[]? given)
    {
        var roots = new List<string>();
        foreach (var root in given ?? [])
        {
            if (!Path.IsPathRooted(root) || !Directory.Exists(root))
                throw new MigrationException("InvalidParameterValue", FailureKind.InvalidInput,
                    $"--storage-root '{root}' is not an existing absolute folder", "--storage-root");
            roots.Add(Path.GetFullPath(root));
        }
        return roots;
    }

    private static IReadOnlyList<string> QemuBinaries(string[]? given)
    {
        if (given is null || given.Length == 0) return QemuTwinOptions.InstalledBinaries();
        foreach (var path in given)
        {
            if (!Path.IsPathFullyQualified(path) || !QemuSpec.IsBinaryName(Path.GetFileName(path)))
                throw new MigrationException("InvalidParameterValue", FailureKind.InvalidInput,
                    $"--qemu: '{path}' is not the full path of a qemu-system-* binary", "--qemu");
            if (!File.Exists(path))
                throw new MigrationException("InvalidParameterValue", FailureKind.InvalidInput, $"--qemu: {path} does not exist", "--qemu");
        }
        return given;
    }

    private static IPNetwork ParseCidr(string text) =>
        IPNetwork.TryParse(text, out var network)
            ? network
            : throw new MigrationException("InvalidParameterValue", FailureKind.InvalidInput, $"--allow: '{text}' is not a CIDR such as 198.51.100.0/24", "--allow");
}
