using System.CommandLine;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Yaml;

namespace PSMigration.Cli;

/// <summary>Options several verbs share, declared once.</summary>
public static class CommonOptions
{
    public static Option<string?> Inventory() => new("--inventory", "-i")
    {
        Description = $"The inventory YAML file (default: ${InventoryLoader.PathVariable}).",
        HelpName = "FILE",
    };

    public static Option<bool> Json() => new("--json")
    {
        Description = "Print one JSON document on stdout and nothing else.",
    };

    public static Option<string> Pki() => new("--pki")
    {
        Description = $"The cluster PKI folder (default: {PSMigration.Engine.Security.PkiPaths.DefaultDirectory}).",
        HelpName = "DIR",
        DefaultValueFactory = _ => PSMigration.Engine.Security.PkiPaths.DefaultDirectory,
    };

    public static Option<string> RunDirectory() => new("--run-dir")
    {
        Description = $"This host's run directory for VM files: QMP sockets, pid files, migration sockets (default: {PSMigration.Qemu.Launch.RunDirectory.Default}; '{{runDir}}' in the inventory stands for it).",
        HelpName = "DIR",
        DefaultValueFactory = _ => PSMigration.Qemu.Launch.RunDirectory.Default,
    };

    /// <summary>--vm NAME, repeatable and required (check, migrate).</summary>
    public static Option<string[]> Vms(string description) => new("--vm")
    {
        Description = description, Required = true, HelpName = "NAME", AllowMultipleArgumentsPerToken = true,
    };

    /// <summary>A text option that names an enum value, spelt as in the inventory (any case); null when not given.</summary>
    public static T? ParseEnum<T>(ParseResult parsed, Option<string?> option) where T : struct, Enum
    {
        var text = parsed.GetValue(option);
        if (text is null) return null;
        if (Spelling<T>.TryParse(text, out var value)) return value;
        throw new MigrationException("InvalidParameterValue", FailureKind.InvalidInput,
            $"{option.Name} must be {Spelling<T>.OneOf}, not '{text}'{DidYouMean.Hint(text, Spelling<T>.All)}", option.Name);
    }

    public static MigrationInventory LoadInventory(ParseResult parsed, Option<string?> option, CliOutput output)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var inventory = InventoryLoader.Load(InventoryLoader.ResolvePath(parsed.GetValue(option), InventoryArgument.Cli));
        output.Log.Verbose($"Inventory {inventory.Path}: loaded in {clock.ElapsedMilliseconds} ms ({inventory.Hosts.Count} hosts, {inventory.Vms.Count} VMs, {inventory.Networks.Count} networks)");
        output.Warnings(inventory.Warnings);
        return inventory;
    }
}
