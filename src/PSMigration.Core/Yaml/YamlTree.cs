using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace PSMigration.Core.Yaml;

/// <summary>A YAML node with the places it starts and ends in the text.</summary>
public abstract class YamlValue(Mark start)
{
    public Mark Start { get; } = start;
    /// <summary>Where the node ends; for a block collection, where the next token begins.</summary>
    public Mark End { get; internal set; } = start;
}

internal sealed class YamlScalar : YamlValue
{
    public YamlScalar(Mark start, Mark end, string value, ScalarStyle style) : base(start)
    {
        End = end;
        Value = value;
        Style = style;
    }

    public string Value { get; }
    public ScalarStyle Style { get; }

    /// <summary>YAML's null: an empty plain scalar, <c>~</c> or <c>null</c>.</summary>
    public bool IsNull => Style is ScalarStyle.Plain or ScalarStyle.Any && Value is "" or "~" or "null" or "Null" or "NULL";
}

internal sealed class YamlMap(Mark start, bool isFlow) : YamlValue(start)
{
    public bool IsFlow { get; } = isFlow;
    public List<(YamlScalar Key, YamlValue Value)> Entries { get; } = new();

    public (YamlScalar Key, YamlValue Value)? Entry(string key)
    {
        foreach (var entry in Entries)
            if (entry.Key.Value == key) return entry;
        return null;
    }
}

internal sealed class YamlList(Mark start, bool isFlow) : YamlValue(start)
{
    /// <summary>Written in brackets (<c>[a, b]</c>), not as "- item" lines.</summary>
    public bool IsFlow { get; } = isFlow;
    public List<YamlValue> Items { get; } = new();
}

/// <summary>
/// Builds a light tree straight from YamlDotNet's parser events: what the inventory needs (scalars,
/// mappings, sequences, anchors) with start and end marks, at a fraction of the cost of
/// YamlDotNet's representation model. Duplicate and non-scalar keys are reported, all of them,
/// instead of stopping at the first.
/// </summary>
internal static class YamlTree
{
    /// <summary>The documents of <paramref name="text"/>; a syntax error throws <see cref="YamlException"/>, explained
    /// in YAML's terms at the place to fix (<see cref="YamlSyntax"/>).</summary>
    public static IReadOnlyList<YamlValue> Parse(string text, ProblemSink? problems = null)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, YamlValue>(StringComparer.Ordinal);
        var documents = new List<YamlValue>();
        try
        {
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out _))
            {
                documents.Add(Node(parser, anchors, problems));
                parser.Consume<DocumentEnd>();
            }
            parser.Consume<StreamEnd>();
        }
        catch (Exception e) when (e is SyntaxErrorException or SemanticErrorException or InvalidOperationException)
        {
            // InvalidOperationException: YamlDotNet 16 throws it (not YamlException) for some broken input, such as an unclosed '{'.
            throw YamlSyntax.Explain(e, text);
        }
        return documents;
    }

    private static YamlValue Node(IParser parser, Dictionary<string, YamlValue> anchors, ProblemSink? problems)
    {
        YamlValue node;
        AnchorName anchor;
        switch (parser.Consume<ParsingEvent>())
        {
            case AnchorAlias alias:
                return anchors.TryGetValue(alias.Value.Value, out var target)
                    ? target
                    : throw new YamlException(alias.Start, alias.End, $"the alias *{alias.Value} names no anchor");
            case Scalar scalar:
                node = new YamlScalar(scalar.Start, scalar.End, scalar.Value, scalar.Style);
                anchor = scalar.Anchor;
                break;
            case SequenceStart start:
                var list = new YamlList(start.Start, start.Style == SequenceStyle.Flow);
                while (!parser.Accept<SequenceEnd>(out _))
                    list.Items.Add(Node(parser, anchors, problems));
                list.End = parser.Consume<SequenceEnd>().End;
                node = list;
                anchor = start.Anchor;
                break;
            case MappingStart start:
                node = Mapping(parser, start, anchors, problems);
                anchor = start.Anchor;
                break;
            case var other:
                throw new YamlException(other.Start, other.End, $"unexpected {other.GetType().Name}");
        }
        if (!anchor.IsEmpty) anchors[anchor.Value] = node;
        return node;
    }

    private static YamlMap Mapping(IParser parser, MappingStart start, Dictionary<string, YamlValue> anchors, ProblemSink? problems)
    {
        var map = new YamlMap(start.Start, start.Style == MappingStyle.Flow);
        HashSet<string>? manyKeys = null; // inventory mappings are small: scan them, hash only big ones
        while (!parser.Accept<MappingEnd>(out _))
        {
            var key = Node(parser, anchors, problems);
            var value = Node(parser, anchors, problems);
            if (key is not YamlScalar scalarKey)
            {
                problems?.Error(key.Start, "a key must be a plain word, not a list or a mapping");
                continue;
            }
            var duplicate = manyKeys is null ? map.Entry(scalarKey.Value) is not null : manyKeys.Contains(scalarKey.Value);
            if (duplicate)
            {
                problems?.Error(scalarKey.Start, $"duplicate key '{scalarKey.Value}' (first at line {map.Entry(scalarKey.Value)!.Value.Key.Start.Line})");
                continue;
            }
            map.Entries.Add((scalarKey, value));
            if (map.Entries.Count == 16) manyKeys = map.Entries.Select(e => e.Key.Value).ToHashSet(StringComparer.Ordinal);
            else manyKeys?.Add(scalarKey.Value);
        }
        // A flow mapping's end event sits on its '}': the node ends right after it.
        // A block mapping's end event sits where the next token begins.
        var end = parser.Consume<MappingEnd>().Start;
        map.End = map.IsFlow ? new Mark(end.Index + 1, end.Line, end.Column + 1) : end;
        return map;
    }
}
