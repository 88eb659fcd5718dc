using System.Reflection;

namespace PSMigration.Core.Yaml;

/// <summary>Gives an enum member the spelling users write in YAML and read in JSON and tables
/// (for example <c>802.3ad</c> or <c>none</c>). Members without it are spelt as declared.</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class SpellingAttribute(string text) : Attribute
{
    public string Text { get; } = text;
}

/// <summary>The spelling of any such enum value: <c>Spelling.Of(plan.Transport)</c> is "engine".</summary>
public static class Spelling
{
    public static string Of<T>(T value) where T : struct, Enum => Spelling<T>.Of(value);
}

/// <summary>The one place that turns policy and inventory enums into text and back.</summary>
public static class Spelling<T> where T : struct, Enum
{
    private static readonly IReadOnlyList<(T Value, string Text)> Members = typeof(T)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => ((T)f.GetValue(null)!, f.GetCustomAttribute<SpellingAttribute>()?.Text ?? f.Name))
        .ToList();

    public static IReadOnlyList<string> All { get; } = Members.Select(m => m.Text).ToList();

    /// <summary>"one of a, b, c", for messages.</summary>
    public static string OneOf { get; } = "one of " + string.Join(", ", All);

    public static string Of(T value) => Members.First(m => m.Value.Equals(value)).Text;

    /// <summary>Case-insensitive, so <c>auto</c> and <c>AUTO</c> both read as <c>Auto</c>.</summary>
    public static bool TryParse(string text, out T value)
    {
        foreach (var (member, spelt) in Members)
        {
            if (string.Equals(spelt, text, StringComparison.OrdinalIgnoreCase))
            {
                value = member;
                return true;
            }
        }
        value = default;
        return false;
    }
}
