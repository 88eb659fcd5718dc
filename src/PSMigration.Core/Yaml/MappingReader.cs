using System.Globalization;
using PSMigration.Core.Diagnostics;
using YamlDotNet.Core;

namespace PSMigration.Core.Yaml;

/// <summary>
/// Reads one YAML mapping against the keys the caller asks for. Every key asked for becomes known;
/// <see cref="RejectUnknownKeys"/> then reports the rest with a did-you-mean. Type and range
/// problems are reported to the sink and read as "absent", so reading goes on and one run
/// shows every problem of the file.
/// </summary>
public sealed class MappingReader
{
    private readonly Dictionary<string, (YamlScalar Key, YamlValue Value)> entries = new(StringComparer.Ordinal);
    private readonly HashSet<string> known = new(StringComparer.Ordinal);
    private readonly ProblemSink sink;

    private MappingReader(YamlMap node, string what, ProblemSink sink)
    {
        Node = node;
        What = what;
        this.sink = sink;
        // YamlTree has reported duplicate keys already, with their places.
        foreach (var (key, value) in node.Entries) entries[key.Value] = (key, value);
    }

    public YamlMap Node { get; }
    /// <summary>What this mapping is, for messages: "host 'kvm01'".</summary>
    public string What { get; private set; }

    /// <summary>Names the mapping once its name is known: "network #2" becomes "network 'mig'".</summary>
    public void Describe(string what) => What = what;
    public SourceLocation Location => sink.At(Node.Start);

    /// <summary>A reader for <paramref name="node"/>, or null (with an error) when it is not a mapping.</summary>
    public static MappingReader? Open(YamlValue node, string what, ProblemSink sink)
    {
        if (node is YamlMap mapping) return new MappingReader(mapping, what, sink);
        sink.Error(node.Start, $"{what} must be a mapping of keys to values");
        return null;
    }

    public bool Has(string key)
    {
        known.Add(key);
        return entries.TryGetValue(key, out var entry) && !IsNull(entry.Value);
    }

    /// <summary>Where the value of <paramref name="key"/> starts (or the mapping, when absent).</summary>
    public SourceLocation LocationOf(string key) =>
        entries.TryGetValue(key, out var entry) ? sink.At(entry.Value.Start) : Location;

    public YamlValue? Value(string key, bool required = false)
    {
        known.Add(key);
        if (entries.TryGetValue(key, out var entry) && !IsNull(entry.Value)) return entry.Value;
        if (required) sink.Error(entries.TryGetValue(key, out var present) ? present.Value.Start : Node.Start, $"{What} needs '{key}'");
        return null;
    }

    public string? String(string key, bool required = false)
    {
        var node = Value(key, required);
        if (node is null) return null;
        if (node is YamlScalar scalar && !string.IsNullOrWhiteSpace(scalar.Value)) return scalar.Value;
        sink.Error(node.Start, $"'{key}' of {What} must be a non-empty text value");
        return null;
    }

    public int? Int(string key, bool required = false, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = Scalar(key, required, "a whole number", out var node);
        if (text is null) return null;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            sink.Error(node!.Start, $"'{key}' of {What} must be a whole number, not '{text}'");
            return null;
        }
        return InRange(key, node!, value, min, max) ? value : null;
    }

    public long? Long(string key, bool required = false, long min = long.MinValue)
    {
        var text = Scalar(key, required, "a whole number", out var node);
        if (text is null) return null;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            sink.Error(node!.Start, $"'{key}' of {What} must be a whole number, not '{text}'");
            return null;
        }
        if (value >= min) return value;
        sink.Error(node!.Start, $"'{key}' of {What} must be at least {min}, not {value}");
        return null;
    }

    /// <summary>A number that must be above zero (speeds, bandwidth caps).</summary>
    public double? PositiveNumber(string key, bool required = false)
    {
        var text = Scalar(key, required, "a number", out var node);
        if (text is null) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            sink.Error(node!.Start, $"'{key}' of {What} must be a number, not '{text}'");
            return null;
        }
        if (value > 0) return value;
        sink.Error(node!.Start, $"'{key}' of {What} must be greater than zero, not {text}");
        return null;
    }

    public bool? Bool(string key)
    {
        var text = Scalar(key, false, "true or false", out var node);
        if (text is null) return null;
        if (bool.TryParse(text, out var value)) return value;
        sink.Error(node!.Start, $"'{key}' of {What} must be true or false, not '{text}'");
        return null;
    }

    public T? Enum<T>(string key, bool required = false) where T : struct, System.Enum
    {
        var text = Scalar(key, required, "one of " + string.Join(", ", Spelling<T>.All), out var node);
        if (text is null) return null;
        if (Spelling<T>.TryParse(text, out var value)) return value;
        sink.Error(node!.Start,
            $"'{key}' of {What} must be one of {string.Join(", ", Spelling<T>.All)}, not '{text}'{DidYouMean.Hint(text, Spelling<T>.All)}");
        return null;
    }

    /// <summary>The items of a sequence (empty, with an error, when the value is something else).</summary>
    public IReadOnlyList<YamlValue> Sequence(string key, bool required = false)
    {
        var node = Value(key, required);
        if (node is null) return Array.Empty<YamlValue>();
        if (node is YamlList list) return list.Items;
        sink.Error(node.Start, $"'{key}' of {What} must be a list");
        return Array.Empty<YamlValue>();
    }

    /// <summary>A list of plain text values, such as bond members or QEMU arguments.</summary>
    public IReadOnlyList<(string Text, Mark Start)> Strings(string key, bool required = false)
    {
        var result = new List<(string, Mark)>();
        foreach (var item in Sequence(key, required))
        {
            if (item is YamlScalar { Value: var text }) result.Add((text, item.Start));
            else sink.Error(item.Start, $"each item of '{key}' of {What} must be a text value");
        }
        return result;
    }

    public MappingReader? Mapping(string key, string what, bool required = false)
    {
        var node = Value(key, required);
        return node is null ? null : Open(node, what, sink);
    }

    /// <summary>Reports keys nobody asked for: typos most of the time, so suggest the closest.</summary>
    public void RejectUnknownKeys()
    {
        foreach (var (name, entry) in entries)
        {
            if (known.Contains(name)) continue;
            sink.Error(entry.Key.Start, $"unknown key '{name}' in {What}{DidYouMean.Hint(name, known)}");
        }
    }

    private string? Scalar(string key, bool required, string expected, out YamlValue? node)
    {
        node = Value(key, required);
        if (node is null) return null;
        if (node is YamlScalar { Value: var text }) return text.Trim();
        sink.Error(node.Start, $"'{key}' of {What} must be {expected}");
        return null;
    }

    private bool InRange(string key, YamlValue node, int value, int min, int max)
    {
        if (value < min)
        {
            sink.Error(node.Start, $"'{key}' of {What} must be at least {min}, not {value}");
            return false;
        }
        if (value > max)
        {
            sink.Error(node.Start, $"'{key}' of {What} must be at most {max}, not {value}");
            return false;
        }
        return true;
    }

    private static bool IsNull(YamlValue node) => node is YamlScalar { IsNull: true };
}
