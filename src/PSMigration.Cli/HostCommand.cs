using System.CommandLine;
using PSMigration.Core.Inventory;

namespace PSMigration.Cli;

/// <summary><c>psmig host suspend|resume</c>: a host into or out of maintenance (Suspend-/Resume-MigrationHost).</summary>
public static class HostCommand
{
    public static Command Create(CliOutput output) =>
        new("host", "Put a host in maintenance (never a destination) or take it out.")
        {
            Maintenance(output, "suspend", "Put the host in maintenance: no VM is moved to it; its VMs stay where they are.", true),
            Maintenance(output, "resume", "Take the host out of maintenance: VMs may be moved to it again.", false),
        };

    private static Command Maintenance(CliOutput output, string verb, string description, bool maintenance)
    {
        var inventory = CommonOptions.Inventory();
        var json = CommonOptions.Json();
        var host = new Option<string>("--host") { Description = "The host, as the inventory names it.", Required = true, HelpName = "HOST" };
        var whatIf = new Option<bool>("--what-if") { Description = "Say what would change without writing the file." };
        var command = new Command(verb, description) { inventory, host, whatIf, json };
        command.SetAction(parsed =>
        {
            var path = InventoryLoader.ResolvePath(parsed.GetValue(inventory), InventoryArgument.Cli);
            var write = !parsed.GetValue(whatIf);
            var (name, changed) = MaintenanceEditor.Set(path, parsed.GetValue(host)!, maintenance, write); // unknown: did-you-mean
            var loaded = InventoryLoader.Load(path);
            var summary = new HostSummary(name, loaded.Host(name).InMaintenance, changed && write,
                loaded.Vms.Where(v => MigrationInventory.NameComparer.Equals(v.Host, name)).Select(v => v.Name).ToList(), path);
            if (parsed.GetValue(json)) output.Json(summary);
            else output.Out.WriteLine(
                $"{name}: {(maintenance ? "in maintenance" : "out of maintenance")}" +
                (changed ? write ? $"; {path} updated" : $" (what-if: {path} would change)" : $" already; {path} unchanged") +
                (summary.Remaining.Count > 0 ? $"; its VMs stay: {string.Join(", ", summary.Remaining)}" : ""));
            return CliApp.Done;
        });
        return command;
    }
}

/// <summary>What <c>psmig host suspend|resume</c> did: the host's maintenance as the file says now, whether the file
/// changed, and the VMs it still holds. Property names are the JSON contract (a drain adds what it moved).</summary>
public sealed record HostSummary(string Host, bool Maintenance, bool Changed, IReadOnlyList<string> Remaining, string InventoryPath);
