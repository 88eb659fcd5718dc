using System.Text.RegularExpressions;

namespace PSMigration.Core.Yaml;

/// <summary>Values written into YAML text by the editors: plain where YAML reads them back as the same text, quoted elsewhere.</summary>
internal static partial class YamlText
{
    /// <summary>"[mig, lan]": a one-line list, which fits a block and a flow mapping alike.</summary>
    public static string FlowSequence(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(Scalar)) + "]";

    /// <summary>The text as is when it is safe plain in a flow collection (no ',', ':', '#', brackets or quotes),
    /// else single-quoted (a quote inside doubled).</summary>
    public static string Scalar(string text) => SafePlain().IsMatch(text) ? text : "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.\\-/]*$")]
    private static partial Regex SafePlain();
}
