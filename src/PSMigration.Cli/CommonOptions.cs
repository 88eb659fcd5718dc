using System.CommandLine;
using PSMigration.Core.Inventory;

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

    public static MigrationInventory LoadInventory(ParseResult parsed, Option<string?> option, CliOutput output)
    {
        var inventory = InventoryLoader.Load(InventoryLoader.ResolvePath(parsed.GetValue(option), "--inventory"));
        output.Warnings(inventory.Warnings);
        return inventory;
    }
}
