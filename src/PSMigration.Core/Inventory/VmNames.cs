using System.Text.RegularExpressions;

namespace PSMigration.Core.Inventory;

/// <summary>The names a VM may have. A name names the VM's files on every host (its pid file, its log, its twin's
/// folder) and travels in the agent's control messages, so it must be a plain file name: checked where the inventory
/// is read and again where the agent reads a request.</summary>
public static partial class VmNames
{
    public const int MaxLength = 128;

    public const string Rule = "letters, digits, '.', '-' and '_', starting with a letter or digit, at most 128 characters";

    public static bool IsValid(string? name) => name is { Length: > 0 and <= MaxLength } && Pattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex Pattern();
}
