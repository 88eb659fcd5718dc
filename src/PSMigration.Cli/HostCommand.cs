using System.CommandLine;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Qemu.Operations;

namespace PSMigration.Cli;

/// <summary><c>psmig host suspend|resume</c>: a host into or out of maintenance (Suspend-/Resume-MigrationHost); with
/// <c>--drain</c>, its VMs moved off first; with <c>--failback</c>, the drained VMs brought back.</summary>
public static class HostCommand
{
    public static Command Create(CliOutput output) =>
        new("host", "Put a host in maintenance (never a destination) and empty it, or take it out and bring its VMs back.")
        {
            Maintenance(output, "suspend", "Put the host in maintenance: no VM is moved to it; with --drain, move its VMs off it (run it on that host).", true),
            Maintenance(output, "resume", "Take the host out of maintenance: VMs may be moved to it again; with --failback, bring back what its drains moved.", false),
        };

    private static Command Maintenance(CliOutput output, string verb, string description, bool maintenance)
    {
        var inventory = CommonOptions.Inventory();
        var json = CommonOptions.Json();
        var pki = CommonOptions.Pki();
        var runDir = CommonOptions.RunDirectory();
        var host = new Option<string>("--host") { Description = "The host, as the inventory names it.", Required = true, HelpName = "HOST" };
        var whatIf = new Option<bool>("--what-if") { Description = "Say what would change (and the moves it would make) without doing it." };
        var moves = maintenance
            ? new Option<bool>("--drain") { Description = "Move every VM off the host as the drain plan says (psmig plan --from-host), then report." }
            : new Option<bool>("--failback") { Description = "Move back the VMs the host's drains moved away that are still where the drain put them." };
        var destinations = new Option<string[]>("--destination", "-d")
        {
            Description = "With --drain: only these hosts take VMs (repeatable; default: every host that can).", HelpName = "HOST", AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command(verb, description) { inventory, host, moves, whatIf, pki, runDir, json };
        if (maintenance) command.Add(destinations);
        command.SetAction(parsed =>
        {
            var path = InventoryLoader.ResolvePath(parsed.GetValue(inventory), InventoryArgument.Cli);
            if (!parsed.GetValue(moves))
            {
                if (parsed.GetValue(destinations) is { Length: > 0 })
                    throw new MigrationException("DestinationWithoutDrain", FailureKind.InvalidInput, "--destination chooses where a drain moves VMs: give --drain too", "--destination");
                return SetOnly(output, path, parsed.GetValue(host)!, maintenance, !parsed.GetValue(whatIf), parsed.GetValue(json));
            }
            var options = new HostMoveOptions { PkiDirectory = parsed.GetValue(pki)!, RunDirectory = parsed.GetValue(runDir)!, Log = output.Log };
            var planned = maintenance
                ? HostMoves.Drain(path, parsed.GetValue(host)!, parsed.GetValue(destinations) is { Length: > 0 } d ? d : null, options)
                : HostMoves.Failback(path, parsed.GetValue(host)!, options);
            if (parsed.GetValue(whatIf))
            {
                if (!parsed.GetValue(json)) output.Out.WriteLine($"What if: {planned.Describe()}");
                else if (planned.DrainPlan is { } drain) output.Json(drain);
                else output.Json(new { host = planned.Host, plans = planned.Plans, notes = planned.Notes });
                return CliApp.Done;
            }
            var line = new ProgressLine(output.Error);
            var summary = Interrupt.Run(output, cancel => planned.RunAsync(ResultText.ProgressTo(line), ResultText.TellTo(output, line, parsed.GetValue(json)), cancel));
            if (parsed.GetValue(json)) output.Json(summary);
            else
            {
                foreach (var note in summary.Notes) output.Out.WriteLine($"note: {note}");
                output.Out.WriteLine(summary.ToString());
            }
            return summary.Done && summary.Failed.Count == 0 ? CliApp.Done : CliApp.Failed;
        });
        return command;
    }

    /// <summary>Maintenance set (or cleared), no VM moved.</summary>
    private static int SetOnly(CliOutput output, string path, string host, bool maintenance, bool write, bool json)
    {
        var (name, changed) = MaintenanceEditor.Set(path, host, maintenance, write); // unknown: did-you-mean
        var loaded = InventoryLoader.Load(path);
        var summary = new HostSummary(name, loaded.Host(name).InMaintenance, changed && write,
            loaded.Vms.Where(v => MigrationInventory.NameComparer.Equals(v.Host, name)).Select(v => v.Name).ToList(), path);
        if (json) output.Json(summary);
        else output.Out.WriteLine(
            $"{name}: {(maintenance ? "in maintenance" : "out of maintenance")}" +
            (changed ? write ? $"; {path} updated" : $" (what-if: {path} would change)" : $" already; {path} unchanged") +
            (summary.Remaining.Count > 0 ? $"; its VMs stay: {string.Join(", ", summary.Remaining)}" : ""));
        return CliApp.Done;
    }
}

/// <summary>What <c>psmig host suspend|resume</c> without --drain or --failback did: the host's maintenance as the file
/// says now, whether the file changed, and the VMs it still holds. Property names are the JSON contract (with
/// --drain or --failback it prints a <see cref="DrainSummary"/>).</summary>
public sealed record HostSummary(string Host, bool Maintenance, bool Changed, IReadOnlyList<string> Remaining, string InventoryPath);
