using System.CommandLine;
using PSMigration.Core.Diagnostics;
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
        var vm = new Option<string?>("--vm") { Description = "The VM to migrate.", HelpName = "NAME" };
        var fromHost = new Option<string?>("--from-host") { Description = "Plan the emptying of this host instead: every VM it holds (a drain).", HelpName = "HOST" };
        var destination = new Option<string[]>("--destination", "-d")
        {
            Description = "The host to move the VM to; with --from-host, a host the drain may use (repeatable; default: every host that can).",
            HelpName = "HOST",
            AllowMultipleArgumentsPerToken = true,
        };
        var network = new Option<string?>("--network") { Description = "Use this network instead of the planner's choice.", HelpName = "NAME" };
        var predict = new Option<bool>("--predict")
        {
            Description = "Sample the running VM's dirty rate (1 s, over its QMP socket or through libvirt: run it on the VM's host) and predict whether it converges.",
        };
        var runDir = CommonOptions.RunDirectory();
        var measured = new Option<double?>("--measured-gbps")
        {
            Description = "With --predict: predict with this bandwidth (as psmig test-network measured it) instead of the plan's.", HelpName = "GBPS",
        };
        var command = new Command("plan", "Show which network and how many connections a migration would use, and why; or how a host would be emptied.")
        {
            inventory, vm, fromHost, destination, network, predict, measured, runDir, json,
        };
        command.SetAction(parsed =>
        {
            var loaded = CommonOptions.LoadInventory(parsed, inventory, output);
            var destinations = parsed.GetValue(destination) ?? [];
            if (parsed.GetValue(fromHost) is { } host)
            {
                if (parsed.GetValue(vm) is not null || parsed.GetValue(network) is not null || parsed.GetValue(predict))
                    throw Usage("--from-host plans every VM of the host over the planner's networks: give no --vm, --network or --predict with it", "--from-host");
                var drain = DrainPlanner.Plan(loaded, host, destinations.Length == 0 ? null : destinations);
                foreach (var plan in drain.Plans) output.Warnings(plan.Warnings.Select(w => $"{plan.Vm}: {w}").ToList());
                if (parsed.GetValue(json)) output.Json(drain);
                else DrainText.Write(drain, output.Out);
                return drain.Unplaced.Count == 0 ? CliApp.Done : CliApp.Failed;
            }
            if (parsed.GetValue(vm) is not { } name || destinations.Length != 1)
                throw Usage("give --vm and one --destination (or --from-host to plan a drain)", "--vm");
            if (parsed.GetValue(measured) is <= 0) throw Usage("--measured-gbps must be a positive number", "--measured-gbps");
            if (parsed.GetValue(measured) is not null && !parsed.GetValue(predict)) throw Usage("--measured-gbps goes with --predict", "--measured-gbps");
            var single = MigrationPlanner.Plan(loaded, name, destinations[0], parsed.GetValue(network));
            if (parsed.GetValue(predict))
                single = Qemu.Operations.ConvergenceForecast.PredictAsync(loaded, single, parsed.GetValue(runDir)!, parsed.GetValue(measured), output.Log, CancellationToken.None)
                    .GetAwaiter().GetResult();
            output.Log.TellPlan(single);
            output.Warnings(single.Warnings);
            if (parsed.GetValue(json)) output.Json(single);
            else PlanText.Write(single, output.Out);
            return CliApp.Done;
        });
        return command;
    }

    private static MigrationException Usage(string message, string option) => new("InvalidParameterValue", FailureKind.InvalidInput, message, option);
}

/// <summary>A plan for people: the decision first, then why, then what was not chosen.</summary>
public static class PlanText
{
    public static void Write(MigrationPlan plan, TextWriter writer)
    {
        writer.WriteLine($"{plan.Vm}: {plan.SourceHost} -> {plan.DestinationHost} over '{plan.Network}'");
        writer.WriteLine($"  path         {plan.SourceInterface} {plan.SourceAddress} -> {plan.DestinationInterface} {plan.DestinationAddress}:{plan.DestinationPort}");
        foreach (var share in plan.Stripe) writer.WriteLine($"  stripe       {share}");
        writer.WriteLine($"  bandwidth    {InterfaceBandwidth.Gbps(plan.BandwidthGbps)}{(plan.Stripe.Count > 0 ? " (the striped networks' sum)" : "")}");
        writer.WriteLine($"  connections  {plan.Connections} (parallel {Spelling.Of(plan.ParallelMode)}: {(plan.Parallel ? "multifd on" : "off")})");
        writer.WriteLine($"  settings     transport {Spelling.Of(plan.Transport)}, encryption {Spelling.Of(plan.Encryption)}, compression {Spelling.Of(plan.Compression)}, " +
                         $"postcopy {(plan.Postcopy ? "on" : "off")}, storage {Spelling.Of(plan.Storage)}, max downtime {plan.MaxDowntimeMs} ms");
        writer.WriteLine($"  converging   autoConverge {(plan.AutoConverge ? "on" : "off")}, timeoutAction {Spelling.Of(plan.TimeoutAction)}" +
                         (plan.CompletionTimeoutPerGiB is { } perGiB ? $", completionTimeoutPerGiB {perGiB} s" : "") +
                         (plan.ProgressTimeoutSeconds is { } stall ? $", progressTimeout {stall} s" : "") +
                         $", linkLossToleranceSeconds {plan.LinkLossToleranceSeconds}");
        writer.WriteLine("  why:");
        foreach (var reason in plan.Reasons) writer.WriteLine($"    - {reason}");
        if (plan.Rejected.Count > 0)
        {
            writer.WriteLine("  not chosen:");
            var width = plan.Rejected.Max(r => r.Network.Length);
            foreach (var rejected in plan.Rejected) writer.WriteLine($"    {rejected.Network.PadRight(width)}  {rejected.Reason}");
        }
        if (plan.Prediction is { } p)
            writer.WriteLine($"  prediction   {(p.Converges ? "converges" : "does not converge")}: dirty {p.DirtyRateMBps:0} MB/s, {p.Passes} pass(es), " +
                             $"{p.TotalSeconds:0.#} s, {p.Bytes / 1048576.0:0} MiB, downtime {p.ExpectedDowntimeMs} ms, needs {Spelling.Of(p.ActionNeeded)}; {p.Reason}");
        foreach (var warning in plan.Warnings) writer.WriteLine($"  warning: {warning}");
    }
}
