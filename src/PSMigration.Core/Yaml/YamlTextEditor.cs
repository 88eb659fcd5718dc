namespace PSMigration.Core.Yaml;

/// <summary>
/// Edits YAML as text, at the places the parser reported, so that every byte outside the edited
/// entries (comments, blank lines, quoting, key order, line endings) stays as it was. Edits are
/// collected and applied together; they must not overlap.
/// </summary>
internal sealed class YamlTextEditor(string text)
{
    private readonly List<(int Start, int End, string Replacement)> edits = new();
    private readonly string newline = text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";

    /// <summary>Sets and removes entries of a block or flow mapping whose values are plain scalars or lists of them.</summary>
    public void EditMapping(YamlMap mapping, IReadOnlyList<(string Key, string Value)> set, IReadOnlyCollection<string> remove)
    {
        if (mapping.IsFlow)
        {
            RewriteFlow(mapping, set, remove);
            return;
        }
        var added = new List<(string Key, string Value)>();
        foreach (var (key, value) in set)
        {
            if (mapping.Entry(key) is { } entry) ReplaceValue(entry.Key, entry.Value, value);
            else added.Add((key, value));
        }
        foreach (var key in remove)
            if (mapping.Entry(key) is { } entry) RemoveLines(entry.Key, LastNode(entry.Value));
        if (added.Count == 0) return;
        var lines = added.Select(a => Indent(mapping) + $"{a.Key}: {a.Value}").ToList();
        if (LineEndAfterLastOneLiner(mapping, remove) is { } end)
            Insert(end, string.Concat(lines.Select(l => newline + l)));
        else // every entry is being removed: the new ones take the place of the first
            Insert(LineStart((int)mapping.Entries[0].Key.Start.Index), string.Concat(lines.Select(l => l + newline)));
    }

    /// <summary>Adds <c>key:</c> holding a new mapping of <paramref name="entries"/> to <paramref name="parent"/>.</summary>
    public void AddMapping(YamlMap parent, string key, IReadOnlyList<(string Key, string Value)> entries)
    {
        if (parent.IsFlow)
        {
            if (parent.Entries.Count > 0) Insert((int)parent.Entries[^1].Value.End.Index, $", {key}: {Flow(entries)}");
            else Insert(ClosingBrace(parent), $" {key}: {Flow(entries)} ");
            return;
        }
        var indent = Indent(parent);
        var lines = newline + indent + key + ":" +
                    string.Concat(entries.Select(e => newline + indent + "  " + $"{e.Key}: {e.Value}"));
        Insert(LineEndAfterLastOneLiner(parent, Array.Empty<string>()) ?? text.Length, lines);
    }

    /// <summary>Replaces a null value (<c>key:</c> or <c>key: ~</c>) with a flow mapping.</summary>
    public void ReplaceNullWithMapping(YamlScalar nullValue, IReadOnlyList<(string Key, string Value)> entries) =>
        ReplaceScalar(nullValue, Flow(entries));

    /// <summary>Removes a whole entry whose value is a block mapping of scalar or list entries (or a scalar, or a list).</summary>
    public void RemoveEntry(YamlMap parent, string key)
    {
        if (parent.Entry(key) is not { } entry) return;
        if (parent.IsFlow)
        {
            RewriteFlow(parent, [], [key]);
            return;
        }
        RemoveLines(entry.Key, LastNode(entry.Value));
    }

    public string Apply()
    {
        // At one place, a removal goes before an insertion, so the insertion is not swallowed.
        var ordered = edits.OrderByDescending(e => e.Start).ThenByDescending(e => e.End).ToList();
        for (var i = 1; i < ordered.Count; i++)
            if (ordered[i].End > ordered[i - 1].Start)
                throw new InvalidOperationException("overlapping YAML edits");
        var result = new System.Text.StringBuilder(text);
        foreach (var (start, end, replacement) in ordered)
            result.Remove(start, end - start).Insert(start, replacement);
        return result.ToString();
    }

    /// <summary>A scalar or a flow list is replaced where it stands. A block list ("- item" lines) becomes one line,
    /// "key: [a, b]", keeping the comment on the key's line; comments among the items go with them.</summary>
    private void ReplaceValue(YamlScalar key, YamlValue value, string replacement)
    {
        if (value is YamlList { IsFlow: true })
            Replace((int)value.Start.Index, (int)value.End.Index, replacement);
        else if (value is YamlList { Items.Count: > 0 } block)
        {
            var afterKey = text[(int)key.End.Index..LineEnd((int)key.End.Index)]; // ":", maybe "  # comment"
            var comment = afterKey.Contains('#', StringComparison.Ordinal) ? afterKey[(afterKey.IndexOf(':', StringComparison.Ordinal) + 1)..] : "";
            Replace((int)key.End.Index, LineEnd((int)LastNode(block).End.Index), ": " + replacement + comment);
        }
        else ReplaceScalar(value, replacement);
    }

    /// <summary>The node a block collection's text ends with (its own end is where the next token begins, maybe lines later).</summary>
    private static YamlValue LastNode(YamlValue value) => value switch
    {
        YamlMap { IsFlow: false, Entries.Count: > 0 } map => LastNode(map.Entries[^1].Value),
        YamlList { IsFlow: false, Items.Count: > 0 } list => LastNode(list.Items[^1]),
        _ => value,
    };

    private void ReplaceScalar(YamlValue value, string replacement)
    {
        if (value is not YamlScalar)
            throw new NotSupportedException($"the value at line {value.Start.Line} is not a single value");
        var (start, end) = ((int)value.Start.Index, (int)value.End.Index);
        // An empty value sits right after the colon: keep the space YAML needs there.
        Replace(start, end, start == end ? " " + replacement : replacement);
    }

    /// <summary>Removes the lines from the key's line to the end of the value's line.</summary>
    private void RemoveLines(YamlValue key, YamlValue lastValue)
    {
        var start = LineStart((int)key.Start.Index);
        if (!string.IsNullOrWhiteSpace(text[start..(int)key.Start.Index]))
            throw new NotSupportedException($"the entry at line {key.Start.Line} shares its line with other content");
        var end = text.IndexOf('\n', (int)lastValue.End.Index);
        Replace(start, end < 0 ? text.Length : end + 1, "");
    }

    /// <summary>Flow mappings are one short line: write it again, keeping the text of untouched entries.</summary>
    private void RewriteFlow(YamlMap mapping, IReadOnlyList<(string Key, string Value)> set, IReadOnlyCollection<string> remove)
    {
        var entries = new List<string>();
        var written = new HashSet<string>();
        foreach (var (k, v) in mapping.Entries)
        {
            var key = k.Value;
            if (remove.Contains(key)) continue;
            var replacement = set.FirstOrDefault(s => s.Key == key);
            entries.Add(replacement.Key is null ? text[(int)k.Start.Index..(int)v.End.Index] : $"{key}: {replacement.Value}");
            written.Add(key);
        }
        entries.AddRange(set.Where(s => !written.Contains(s.Key)).Select(s => $"{s.Key}: {s.Value}"));
        Replace((int)mapping.Start.Index, ClosingBrace(mapping) + 1, entries.Count == 0 ? "{}" : "{ " + string.Join(", ", entries) + " }");
    }

    private static string Flow(IReadOnlyList<(string Key, string Value)> entries) =>
        "{ " + string.Join(", ", entries.Select(e => $"{e.Key}: {e.Value}")) + " }";

    /// <summary>A flow mapping ends right after its closing brace (see <see cref="YamlTree"/>).</summary>
    private int ClosingBrace(YamlMap flow)
    {
        var at = (int)flow.End.Index - 1;
        return text[at] == '}' ? at : throw new InvalidOperationException($"no closing brace for the mapping at line {flow.Start.Line}");
    }

    /// <summary>Where a new entry line goes: after the line of the mapping's last single-line entry (a scalar or a
    /// flow list), so it never lands inside a nested block.</summary>
    private int? LineEndAfterLastOneLiner(YamlMap mapping, IReadOnlyCollection<string> removed)
    {
        var last = mapping.Entries.LastOrDefault(c =>
            c.Value is YamlScalar or YamlList { IsFlow: true } && c.Value.Start.Line == c.Value.End.Line && !removed.Contains(c.Key.Value));
        return last.Value is null ? null : LineEnd((int)last.Value.End.Index);
    }

    /// <summary>Where the line holding <paramref name="index"/> ends, before its "\r\n" or "\n".</summary>
    private int LineEnd(int index)
    {
        var end = text.IndexOf('\n', index);
        if (end < 0) return text.Length;
        return end > 0 && text[end - 1] == '\r' ? end - 1 : end;
    }

    private static string Indent(YamlMap mapping) => new(' ', (int)mapping.Entries[0].Key.Start.Column - 1);

    private int LineStart(int index) => text.LastIndexOf('\n', Math.Max(0, index - 1)) + 1;

    private void Insert(int at, string content) => Replace(at, at, content);

    private void Replace(int start, int end, string replacement) => edits.Add((start, end, replacement));
}
