using System.CommandLine;
using PSMigration.Core.Planning;
using PSMigration.Core.Yaml;

namespace PSMigration.Cli;

/// <summary><c>psmig plan</c>: which network and how many connections, and why (Get-MigrationPlan).</summary>
public static class PlanCommand
{
    public static Command Create(CliOutput output)
    {
        var inventory = CommonOptions.Inventory();
        var json = CommonOptions.Json();
        var vm = new Option<string>("--vm") { Description = "The VM to migrate.", Required = true, HelpName = "NAME" };
        var destination = new Option<string>("--destination", "-d") { Description = "The host to move it to.", Required = true, HelpName = "HOST" };
        var network = new Option<string?>("--network") { Description = "Use this network instead of the planner's choice.", HelpName = "NAME" };
        var command = new Command("plan", "Show which network and how many connections a migration would use, and why.")
        {
            inventory, vm, destination, network, json,
        };
        command.SetAction(parsed =>
        {
            var loaded = CommonOptions.LoadInventory(parsed, inventory, output);
            var plan = MigrationPlanner.Plan(loaded, parsed.GetValue(vm)!, parsed.GetValue(destination)!, parsed.GetValue(network));
            output.Log.TellPlan(plan);
            output.Warnings(plan.Warnings);
            if (parsed.GetValue(json)) output.Json(plan);
            else PlanText.Write(plan, output.Out);
            return CliApp.Done;
        });
        return command;
    }
}

/// <summary>A plan for people: the decision first, then why, then what was not chosen.</summary>
public static class PlanText
{
    public static void Write(MigrationPlan plan, TextWriter writer)
    {
        writer.WriteLine($"{plan.Vm}: {plan.SourceHost} -> {plan.DestinationHost} over '{plan.Network}'");
        writer.WriteLine($"  path         {plan.SourceInterface} {plan.SourceAddress} -> {plan.DestinationInterface} {plan.DestinationAddress}:{plan.DestinationPort}");
        writer.WriteLine($"  bandwidth    {InterfaceBandwidth.Gbps(plan.BandwidthGbps)}");
        writer.WriteLine($"  connections  {plan.Connections} (parallel {Spelling.Of(plan.ParallelMode)}: {(plan.Parallel ? "multifd on" : "off")})");
        writer.WriteLine($"  settings     transport {Spelling.Of(plan.Transport)}, encryption {Spelling.Of(plan.Encryption)}, compression {Spelling.Of(plan.Compression)}, " +
                         $"postcopy {(plan.Postcopy ? "on" : "off")}, storage {Spelling.Of(plan.Storage)}, max downtime {plan.MaxDowntimeMs} ms");
        writer.WriteLine("  why:");
        foreach (var reason in plan.Reasons) writer.WriteLine($"    - {reason}");
        if (plan.Rejected.Count > 0)
        {
            writer.WriteLine("  not chosen:");
            var width = plan.Rejected.Max(r => r.Network.Length);
            foreach (var rejected in plan.Rejected) writer.WriteLine($"    {rejected.Network.PadRight(width)}  {rejected.Reason}");
        }
        foreach (var warning in plan.Warnings) writer.WriteLine($"  warning: {warning}");
    }
}
