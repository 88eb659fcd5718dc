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

    public static MigrationInventory LoadInventory(ParseResult parsed, Option<string?> option, CliOutput output)
    {
        var inventory = InventoryLoader.Load(InventoryLoader.ResolvePath(parsed.GetValue(option), "--inventory"));
        output.Warnings(inventory.Warnings);
        return inventory;
    }
}
