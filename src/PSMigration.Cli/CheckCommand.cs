using System.CommandLine;
using PSMigration.Qemu.Readiness;

namespace PSMigration.Cli;

/// <summary><c>psmig check</c>: can these VMs move to those hosts now (Test-VMMigration)? Nothing moves.
/// Run it on the source host. Exit 0 when every pair is ready, 1 when one is not, 2 on bad input.</summary>
public static class CheckCommand
{
    public static Command Create(CliOutput output)
    {
        var inventory = CommonOptions.Inventory();
        var json = CommonOptions.Json();
        var pki = CommonOptions.Pki();
        var runDir = CommonOptions.RunDirectory();
        var vms = CommonOptions.Vms("The VM to check (repeatable).");
        var destinations = new Option<string[]>("--destination", "-d")
        {
            Description = "The host it would move to (repeatable; default: every other host of its cluster).", HelpName = "HOST", AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("check", "Check that VMs can move to other hosts now, without moving anything (run it on the source host).")
        {
            inventory, vms, destinations, pki, runDir, json,
        };
        command.SetAction(parsed =>
        {
            var loaded = CommonOptions.LoadInventory(parsed, inventory, output);
            var to = parsed.GetValue(destinations) is { Length: > 0 } named ? named.Select(loaded.Host).Select(h => h.Name).ToList() : null;
            var results = new List<MigrationReadiness>();
            foreach (var vm in parsed.GetValue(vms)!.Select(loaded.Vm))
            {
                var request = new ReadinessRequest
                {
                    Inventory = loaded, Vm = vm.Name, Destinations = to, PkiDirectory = parsed.GetValue(pki)!, RunDirectory = parsed.GetValue(runDir)!, Log = output.Log,
                };
                results.AddRange(ReadinessChecker.CheckAsync(request, null, CancellationToken.None).GetAwaiter().GetResult());
            }
            if (parsed.GetValue(json)) output.Json(results);
            else Write(results, output.Out);
            return results.All(r => r.Ready) ? CliApp.Done : CliApp.Failed;
        });
        return command;
    }

    private static void Write(IReadOnlyList<MigrationReadiness> results, TextWriter writer)
    {
        if (results.Count == 0) writer.WriteLine("nothing to check: no other host in the VM's cluster (name one with --destination)");
        foreach (var result in results)
        {
            writer.WriteLine($"{result.Vm}: {result.SourceHost} -> {result.DestinationHost}: {(result.Ready ? "ready" : "NOT ready")}");
            foreach (var check in result.Checks)
                writer.WriteLine($"  {check.Name,-8} {(check.Passed ? "ok" : "FAILED"),-7} {check.Detail}");
        }
    }
}
