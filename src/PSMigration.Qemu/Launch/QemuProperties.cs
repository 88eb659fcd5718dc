using System.Text;
using System.Text.RegularExpressions;

namespace PSMigration.Qemu.Launch;

/// <summary>
/// One option value in QEMU's <c>key=value,key=value</c> syntax, as QEMU splits it: <c>,,</c> is a literal comma; a first
/// element without <c>=</c> is the implied key (the type, driver or backend: <c>tap</c> in <c>tap,id=n</c>); a later one
/// is a flag set to <c>on</c>.
/// </summary>
internal sealed partial record QemuProperties(string? Implied, IReadOnlyList<(string Key, string Value)> Pairs)
{
    public static QemuProperties Parse(string value)
    {
        var elements = Split(value);
        string? implied = null;
        var pairs = new List<(string, string)>();
        for (var i = 0; i < elements.Count; i++)
        {
            var element = elements[i];
            var equals = element.IndexOf('=');
            if (equals >= 0) pairs.Add((element[..equals], element[(equals + 1)..]));
            else if (i == 0) implied = element;
            else pairs.Add((element, "on"));
        }
        return new QemuProperties(implied, pairs);
    }

    /// <summary>The implied first element, or the key it abbreviates when written out (<c>driver=</c>, <c>type=</c>...).</summary>
    public string? First(string impliedKey) => Implied ?? Get(impliedKey);

    /// <summary>The key's value as QEMU takes it (the last one given).</summary>
    public string? Get(string key) => Pairs.LastOrDefault(p => p.Key == key) is { Key: not null } pair ? pair.Value : null;

    public QemuProperties Without(string key) => this with { Pairs = Pairs.Where(p => p.Key != key).ToList() };

    /// <summary>Whether a file name starts with a block protocol (<c>nbd:</c>, <c>json:</c>, <c>http://</c>) rather than a path.</summary>
    public static bool HasProtocol(string file) => Protocol().IsMatch(file);

    private static List<string> Split(string value)
    {
        var elements = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != ',') current.Append(value[i]);
            else if (i + 1 < value.Length && value[i + 1] == ',') current.Append(value[++i]);
            else
            {
                elements.Add(current.ToString());
                current.Clear();
            }
        }
        elements.Add(current.ToString());
        return elements;
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.\-]*:")]
    private static partial Regex Protocol();
}
