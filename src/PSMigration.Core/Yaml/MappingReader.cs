using System.Globalization;
using PSMigration.Core.Diagnostics;
using YamlDotNet.Core;

namespace PSMigration.Core.Yaml;

/// <summary>
/// Reads one YAML mapping against the keys the caller asks for. Every key asked for becomes known;
/// <see cref="RejectUnknownKeys"/> then reports the rest with a did-you-mean. Type and range
/// problems are reported to the sink and read as "absent", so reading goes on and one run
/// shows every problem of the file. Mappings are small, so lookups scan; the description used
/// in messages is composed only when a message needs it.
/// </summary>
internal sealed class MappingReader
{
    private readonly List<string> known = new();
    private readonly ProblemSink sink;
    private readonly string label;
    private readonly int ordinal;
    private readonly MappingReader? parent;
    private string? name;

    private MappingReader(YamlMap node, string label, int ordinal, MappingReader? parent, ProblemSink sink)
    {
        Node = node;
        this.label = label;
        this.ordinal = ordinal;
        this.parent = parent;
        this.sink = sink;
    }

    public YamlMap Node { get; }

    /// <summary>What this mapping is, for messages: "interface 'eth0' of host 'kvm01'", or "host #3"
    /// before its name is known.</summary>
    public string What =>
        (name is not null ? $"{label} '{name}'" : ordinal > 0 ? $"{label} #{ordinal}" : label) +
        (parent is null ? "" : $" of {parent.What}");

    /// <summary>Names the mapping once its name is read: "network #2" becomes "network 'mig'".</summary>
    public void Describe(string name) => this.name = name;

    public SourceLocation Location => sink.At(Node.Start);

    /// <summary>A reader for <paramref name="node"/>, or null (with an error) when it is not a mapping.</summary>
    /// <param name="label">What it is ("host", "the agent"); <paramref name="ordinal"/> numbers list items from 1.</param>
    public static MappingReader? Open(YamlValue node, string label, ProblemSink sink, int ordinal = 0, MappingReader? parent = null)
    {
        if (node is YamlMap mapping) return new MappingReader(mapping, label, ordinal, parent, sink);
        var reader = new MappingReader(new YamlMap(node.Start, false), label, ordinal, parent, sink);
        sink.Error(node.Start, $"{reader.What} must be a mapping of keys to values");
        return null;
    }

    public bool Has(string key) => Value(key) is not null;

    /// <summary>Where the value of <paramref name="key"/> starts (or the mapping, when absent).</summary>
    public SourceLocation LocationOf(string key) =>
        Node.Entry(key) is { } entry ? sink.At(entry.Value.Start) : Location;

    public YamlValue? Value(string key, bool required = false)
    {
        if (!known.Contains(key)) known.Add(key);
        var entry = Node.Entry(key);
        if (entry is { Value: not YamlScalar { IsNull: true } }) return entry.Value.Value;
        if (required) sink.Error(entry?.Value.Start ?? Node.Start, $"{What} needs '{key}'");
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
        var text = Scalar(key, required, Spelling<T>.OneOf, out var node);
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

    /// <summary>A nested mapping, described in messages as "<paramref name="label"/> of" this one.</summary>
    public MappingReader? Mapping(string key, string label, bool required = false)
    {
        var node = Value(key, required);
        return node is null ? null : Open(node, label, sink, parent: this);
    }

    /// <summary>Reports keys nobody asked for: typos most of the time, so suggest the closest.</summary>
    public void RejectUnknownKeys()
    {
        foreach (var (key, _) in Node.Entries)
        {
            if (known.Contains(key.Value)) continue;
            sink.Error(key.Start, $"unknown key '{key.Value}' in {What}{DidYouMean.Hint(key.Value, known)}");
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

}
