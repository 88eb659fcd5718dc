using System.CommandLine;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Cli;

/// <summary><c>psmig policy get|set</c>: a cluster's or a VM's migration policy (Get-/Set-MigrationPolicy).</summary>
public static class PolicyCommand
{
    public static Command Create(CliOutput output) =>
        new("policy", "Show or change the migration policy of a cluster or a VM.") { Get(output), Set(output) };

    private static Command Get(CliOutput output)
    {
        var (inventory, json, cluster, vm) = TargetOptions();
        var command = new Command("get", "Show the policy in force and where each value comes from.") { inventory, cluster, vm, json };
        command.SetAction(parsed =>
        {
            var loaded = CommonOptions.LoadInventory(parsed, inventory, output);
            var policy = PolicyEditor.PolicyOf(loaded, Target(parsed, cluster, vm));
            if (parsed.GetValue(json)) output.Json(policy);
            else PolicyText.Write(policy, output.Out);
            return CliApp.Done;
        });
        return command;
    }

    private static Command Set(CliOutput output)
    {
        var (inventory, json, cluster, vm) = TargetOptions();
        var parallel = EnumOption<ParallelMode>("--parallel", "How connections are chosen");
        var connections = new Option<int?>("--connections") { Description = $"Connections for parallel Custom (2 to {PolicyKeys.MaxChannels}).", HelpName = "N" };
        var maxConnections = new Option<int?>("--max-connections") { Description = $"Cap for Auto and Parallel (2 to {PolicyKeys.MaxChannels}).", HelpName = "N" };
        var postcopy = new Option<bool?>("--postcopy") { Description = "Allow post-copy (needed by --timeout-action postcopy and psmig migrate --postcopy-after; not with parallel Parallel or Custom).", HelpName = "true|false" };
        var compression = EnumOption<CompressionMethod>("--compression", "Compression");
        var transport = EnumOption<MigrationTransport>("--transport", "Transport");
        var encryption = EnumOption<EncryptionMode>("--encryption", "Encryption");
        var storage = EnumOption<StorageMode>("--storage", "Storage");
        var downtime = new Option<int?>("--max-downtime-ms") { Description = "Longest pause allowed at switch-over.", HelpName = "MS" };
        var bandwidth = new Option<double?>("--bandwidth-gbps") { Description = "Bandwidth cap.", HelpName = "GBPS" };
        var maxIncoming = new Option<int?>("--max-concurrent-incoming")
        {
            Description = "At most this many migrations arriving at one destination host at once (1 or more; unset: no limit).", HelpName = "N",
        };
        var autoConverge = new Option<bool?>("--auto-converge")
        {
            Description = "QEMU's auto-converge: throttle the guest's vCPUs while it dirties memory faster than it moves.", HelpName = "true|false",
        };
        var timeoutAction = EnumOption<TimeoutAction>("--timeout-action", "What a migration does when it has not converged in time (postcopy needs --postcopy true)");
        var completionTimeout = new Option<int?>("--completion-timeout-per-gib")
        {
            Description = "The migration's timeout in seconds per GiB of the VM's RAM (1 to 86400; unset: ten copies of the RAM at the planned bandwidth, at least 120 s).",
            HelpName = "SECONDS",
        };
        var progressTimeout = new Option<int?>("--progress-timeout")
        {
            Description = "Seconds without a fall in the remaining bytes that count as not converging (1 to 86400; unset: only the timeout).", HelpName = "SECONDS",
        };
        var linkLoss = new Option<int?>("--link-loss-tolerance-seconds")
        {
            Description = "Seconds a migration may go without a working path to its destination before it gives up; after a switch to post-copy, " +
                          $"how long a broken link is recovered (1 to {PolicyKeys.MaxLinkLossToleranceSeconds}; unset: 30).",
            HelpName = "SECONDS",
        };
        var networks = new Option<string?>("--networks")
        {
            Description = "The networks a migration may use, in order, comma-separated: the first carries it (unless --network names another), " +
                          "the next take over when a connection fails (engine transport).",
            HelpName = "NAME[,NAME...]",
        };
        var stripe = new Option<bool?>("--stripe")
        {
            Description = "Spread an engine migration's connections over several networks (those of networks, in order, else every shared one " +
                          "open to migrations), each bound to its own source address; false (the default): the others only take over when a connection breaks.",
            HelpName = "true|false",
        };
        var clear = new Option<string[]>("--clear")
        {
            Description = "Remove a key from the block so it inherits again (repeatable).",
            HelpName = "KEY",
            AllowMultipleArgumentsPerToken = true,
        };
        clear.AcceptOnlyFromAmong(PolicyKeys.All.ToArray());
        var whatIf = new Option<bool>("--what-if") { Description = "Show the change without writing the file." };
        var command = new Command("set", "Change the policy block in the inventory file, in place (only that block's lines change).")
        {
            inventory, cluster, vm, parallel, connections, maxConnections, postcopy, compression, transport, encryption,
            storage, downtime, bandwidth, maxIncoming, autoConverge, timeoutAction, completionTimeout, progressTimeout, linkLoss, networks, stripe, clear, whatIf, json,
        };
        command.SetAction(parsed =>
        {
            var change = new PolicyChange(new PolicyBlock
            {
                Parallel = CommonOptions.ParseEnum<ParallelMode>(parsed, parallel),
                Connections = parsed.GetValue(connections),
                MaxConnections = parsed.GetValue(maxConnections),
                Postcopy = parsed.GetValue(postcopy),
                Compression = CommonOptions.ParseEnum<CompressionMethod>(parsed, compression),
                Transport = CommonOptions.ParseEnum<MigrationTransport>(parsed, transport),
                Encryption = CommonOptions.ParseEnum<EncryptionMode>(parsed, encryption),
                Storage = CommonOptions.ParseEnum<StorageMode>(parsed, storage),
                MaxDowntimeMs = parsed.GetValue(downtime),
                BandwidthGbps = parsed.GetValue(bandwidth),
                MaxConcurrentIncoming = parsed.GetValue(maxIncoming),
                AutoConverge = parsed.GetValue(autoConverge),
                TimeoutAction = CommonOptions.ParseEnum<TimeoutAction>(parsed, timeoutAction),
                CompletionTimeoutPerGiB = parsed.GetValue(completionTimeout),
                ProgressTimeout = parsed.GetValue(progressTimeout),
                LinkLossToleranceSeconds = parsed.GetValue(linkLoss),
                Networks = parsed.GetValue(networks)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Stripe = parsed.GetValue(stripe),
            }, parsed.GetValue(clear) ?? []);
            if (change.IsEmpty)
                throw new MigrationException("NothingToChange", FailureKind.InvalidInput,
                    "Nothing to change: give at least one of --parallel, --connections, ... or --clear KEY");

            var path = InventoryLoader.ResolvePath(parsed.GetValue(inventory), InventoryArgument.Cli);
            var result = PolicyEditor.Apply(path, Target(parsed, cluster, vm), change, write: !parsed.GetValue(whatIf));
            output.Warnings(result.Warnings);
            if (parsed.GetValue(json)) output.Json(result.Policy);
            else PolicyText.WriteEdit(result, output.Out);
            return CliApp.Done;
        });
        return command;
    }

    private static (Option<string?> Inventory, Option<bool> Json, Option<string?> Cluster, Option<string?> Vm) TargetOptions() =>
        (CommonOptions.Inventory(), CommonOptions.Json(),
         new Option<string?>("--cluster") { Description = "The cluster whose policy to use.", HelpName = "NAME" },
         new Option<string?>("--vm") { Description = "The VM whose policy to use.", HelpName = "NAME" });

    private static PolicyTarget Target(ParseResult parsed, Option<string?> cluster, Option<string?> vm) =>
        (parsed.GetValue(cluster), parsed.GetValue(vm)) switch
        {
            ({ } c, null) => PolicyTarget.ForCluster(c),
            (null, { } v) => PolicyTarget.ForVm(v),
            _ => throw new MigrationException("PolicyTargetMissing", FailureKind.InvalidInput,
                "Give exactly one of --cluster NAME or --vm NAME"),
        };

    private static Option<string?> EnumOption<T>(string name, string what) where T : struct, Enum =>
        new(name) { Description = $"{what}: {string.Join(" | ", Spelling<T>.All)}.", HelpName = typeof(T).Name.ToUpperInvariant() };
}

/// <summary>Policies for people: each value with where it comes from.</summary>
public static class PolicyText
{
    /// <summary>The key column fits the longest key, so the values line up.</summary>
    private static readonly int KeyWidth = PolicyKeys.All.Max(k => k.Length);

    public static void Write(EffectivePolicy policy, TextWriter writer)
    {
        writer.WriteLine($"{policy.Scope} '{policy.Name}'{(policy.Scope == "VM" && policy.Cluster is { } c ? $" (cluster '{c}')" : "")}:");
        foreach (var key in PolicyKeys.All)
            writer.WriteLine($"  {key.PadRight(KeyWidth)} {PolicyKeys.YamlValue(policy.Values, key) ?? "-",-8} ({policy.Sources[key]})");
    }

    public static void WriteEdit(PolicyEditResult result, TextWriter writer)
    {
        if (!result.Changed)
        {
            writer.WriteLine($"The policy of {result.Target} already has these values; {result.Path} is unchanged.");
            return;
        }
        writer.WriteLine(result.Written
            ? $"Changed the policy of {result.Target} in {result.Path}:"
            : $"What if: would change the policy of {result.Target} in {result.Path}:");
        foreach (var change in result.Changes) writer.WriteLine($"  {change}");
        writer.WriteLine();
        foreach (var line in result.Diff) writer.WriteLine(line);
    }
}
