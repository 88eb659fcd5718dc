using System.CommandLine;
using PSMigration.Engine.Security;

using PSMigration.Qemu.Operations;

namespace PSMigration.Cli;

/// <summary><c>psmig cert init</c>: the cluster CA and a certificate per host, for the engine's and the
/// agents' mutual TLS (New-MigrationCertificate).</summary>
public static class CertCommand
{
    public static Command Create(CliOutput output) =>
        new("cert", "Manage the cluster PKI the migration engine and agents authenticate each other with.") { Init(output) };

    private static Command Init(CliOutput output)
    {
        var inventory = CommonOptions.Inventory();
        var json = CommonOptions.Json();
        var directory = new Option<string>("--out", "-o")
        {
            Description = "The directory to write to: ca.crt, ca.key, and HOST.crt and HOST.key per host.",
            Required = true,
            HelpName = "DIR",
        };
        var force = new Option<bool>("--force")
        {
            Description = "Replace an existing CA and every host certificate (each host then needs its new files).",
        };
        var command = new Command("init",
            "Create the cluster CA and a certificate for each host of the inventory. An existing CA is reused for " +
            "hosts without a certificate; existing files are never overwritten without --force.")
        {
            inventory, directory, force, json,
        };
        command.SetAction(parsed =>
        {
            var loaded = CommonOptions.LoadInventory(parsed, inventory, output);
            var target = Path.GetFullPath(parsed.GetValue(directory)!);
            var files = ClusterCertificates.Initialize(loaded, target, parsed.GetValue(force));
            if (parsed.GetValue(json)) output.Json(new { Directory = target, Files = files });
            else CertText.Write(target, files, output.Out);
            return CliApp.Done;
        });
        return command;
    }
}

/// <summary>What <c>cert init</c> did, for people, and what to do next.</summary>
public static class CertText
{
    public static void Write(string directory, IReadOnlyList<string> files, TextWriter writer)
    {
        if (files.Count == 0)
        {
            writer.WriteLine($"Nothing to do: {directory} has the cluster CA and a certificate for every host of the inventory.");
            writer.WriteLine("Delete a host's .crt and .key to issue it a new one, or use --force to replace the CA and all certificates.");
            return;
        }
        writer.WriteLine($"Wrote {files.Count} files to {directory}:");
        foreach (var file in files) writer.WriteLine($"  {Path.GetFileName(file)}");
        writer.WriteLine();
        writer.WriteLine($"On each host, put {PkiPaths.CaCertificateName}, HOST.crt and HOST.key in {PkiPaths.DefaultDirectory} " +
                         $"(the key with mode 0600). {PkiPaths.CaKeyName} only signs new certificates: keep it safe, off the hosts if you can.");
    }
}
