using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace PSMigration.Core.Yaml;

/// <summary>
/// Says what is wrong with text that is not valid YAML, in YAML's terms and at the place to fix: the
/// brace that is never closed, the line whose indentation matches no level above it, the tab, the
/// quote that never ends. YamlDotNet's own messages name its parser's state ("While parsing a block
/// collection, did not find expected '-' indicator") or nothing at all (an unclosed '{' throws
/// InvalidOperationException), and often point past the cause.
/// </summary>
internal static partial class YamlSyntax
{
    /// <summary>The problem YamlDotNet found in <paramref name="text"/>, explained, at the place to fix.</summary>
    public static YamlException Explain(Exception error, string text)
    {
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var at = error is YamlException y ? y.Start : Mark.Empty;
        var message = error.Message;
        var (where, why) =
            TabIndentation(lines) ??
            (error is InvalidOperationException || message.Contains("did not find expected ','", StringComparison.Ordinal)
                ? UnbalancedBracket(lines) : null) ??
            Specific(message, at, lines) ??
            (at, Plain(message));
        return new YamlException(where, where, why, error);
    }

    private static (Mark, string)? Specific(string message, Mark at, string[] lines)
    {
        var lineNumber = (int)at.Line;
        var line = lineNumber >= 1 && lineNumber <= lines.Length ? lines[lineNumber - 1] : "";
        var column = (int)at.Column;
        var here = column >= 1 && column <= line.Length ? line[column - 1] : '\0';
        if (message.Contains("quoted scalar", StringComparison.Ordinal))
        {
            var quote = here is '\'' or '"' ? here : '"';
            return (at, $"the {(quote == '"' ? "double" : "single")}-quoted text that starts here is never closed: " +
                        $"add the closing {quote} (a quoted value that goes on to the next lines must indent them)");
        }
        if (message.Contains("cannot start any token", StringComparison.Ordinal))
            return (at, $"'{here}' cannot start a plain value in YAML ('@' and '`' are reserved, and '%' starts a directive): put the value in quotes");
        if (message.Contains("found invalid mapping", StringComparison.Ordinal))
        {
            var previous = PreviousContentLine(lines, lineNumber);
            var keyBefore = line[..Math.Clamp(column - 1, 0, line.Length)].Trim();
            if (Indentation(line) > 0 && keyBefore.Length > 0 && !keyBefore.Contains(' ') &&
                previous is { } p && Indentation(lines[p]) < Indentation(line) && KeyWithValue().Match(lines[p]) is { Success: true } owner)
                return (Start(lineNumber, Indentation(line) + 1), $"line {lineNumber} is indented under '{owner.Groups["key"].Value}' (line {p + 1}), which already has its value " +
                                                $"on its own line: a key takes either a value after its ':' or an indented block below, not both");
            return (at, "a ': ' inside a plain value: put the whole value in quotes, or start a new line for a new key");
        }
        if (message.Contains("did not find expected '-' indicator", StringComparison.Ordinal) ||
            message.Contains("did not find expected key", StringComparison.Ordinal))
        {
            if (here is ']' or '}')
                return (at, $"this '{here}' closes nothing: there is no '{(here == ']' ? '[' : '{')}' open before it");
            if (column > Indentation(line) + 1)
                return (at, "unexpected text after a complete value: put the whole value in quotes, or start a new line for a new key");
            return (Start(lineNumber, column), Misindented(lines, lineNumber));
        }
        return null;
    }

    /// <summary>"line 3 is indented by 3 spaces, which lines up with no level above it (0, 2, 4 spaces)...", or a key
    /// at the level of a list whose lines all start with '- ' (or the reverse).</summary>
    private static string Misindented(string[] lines, int lineNumber)
    {
        var line = lines[lineNumber - 1];
        var indent = Indentation(line);
        var levels = new SortedSet<int>();
        int? sameLevel = null;
        var limit = int.MaxValue;
        for (var i = lineNumber - 2; i >= 0 && limit > 0; i--)
        {
            if (IsBlankOrComment(lines[i])) continue;
            var own = Indentation(lines[i]);
            if (own >= limit) continue; // a sibling or a child of a line seen already: not an enclosing level
            levels.Add(own);
            if (own == indent) sameLevel ??= i;
            if (ListItem().Match(lines[i]) is { Success: true } item) levels.Add(item.Groups["key"].Index);
            limit = own;
        }
        var spaces = indent == 1 ? "1 space" : $"{indent} spaces";
        if (sameLevel is { } s && IsListItem(lines[s]) != IsListItem(line))
        {
            if (!IsListItem(lines[s]))
                return $"line {lineNumber} starts a list item ('- ') at the level of the keys of line {s + 1} ({spaces}): " +
                       "a list goes under its key, indented further";
            var firstKey = ListItem().Match(lines[s]) is { Success: true } item ? item.Groups["key"] : null;
            return $"line {lineNumber} is at the level of the list items of line {s + 1} ({spaces}), where every line starts with '- ': " +
                   (firstKey is null
                       ? "start a new item with '- ', or indent it further"
                       : $"indent it by {firstKey.Index} spaces, under '{firstKey.Value.TrimEnd()}', to continue that item, or start a new item with '- '");
        }
        return $"line {lineNumber} is indented by {spaces}, which lines up with no level above it ({string.Join(", ", levels)} spaces): " +
               "the keys of one mapping start in the same column, and the keys of a list item ('- ') in the column of its first key";
    }

    private static bool IsListItem(string line) => line.TrimStart() is ['-'] or ['-', ' ', ..];

    private static (Mark, string)? TabIndentation(string[] lines)
    {
        for (var i = 0; i < lines.Length; i++)
        {
            var tab = lines[i].IndexOf('\t');
            if (tab >= 0 && lines[i][..tab].Trim().Length == 0 && lines[i].Trim().Length > 0)
                return (Start(i + 1, tab + 1), $"line {i + 1} is indented with a tab: YAML indents with spaces only");
        }
        return null;
    }

    /// <summary>The first '{' or '[' that is never closed, or closed by the wrong bracket.</summary>
    private static (Mark, string)? UnbalancedBracket(string[] lines)
    {
        var open = new Stack<(char Bracket, int Line, int Column)>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            for (var c = 0; c < line.Length; c++)
            {
                var ch = line[c];
                if (ch == '#' && (c == 0 || char.IsWhiteSpace(line[c - 1]))) break; // a comment
                if (ch is '"' or '\'' && (open.Count > 0 || StartsValue(line, c)))
                {
                    c = ClosingQuote(line, c);
                    continue;
                }
                if (ch is '{' or '[' && (open.Count > 0 || StartsValue(line, c)))
                    open.Push((ch, i + 1, c + 1));
                else if (ch is '}' or ']' && open.Count > 0)
                {
                    var top = open.Pop();
                    var expected = top.Bracket == '{' ? '}' : ']';
                    if (ch != expected)
                        return (Start(top.Line, top.Column), $"the '{top.Bracket}' here is closed by the '{ch}' at {i + 1}:{c + 1}: a '{expected}' is missing");
                }
            }
        }
        if (open.Count == 0) return null;
        var first = open.Reverse().First();
        var (kind, closing) = first.Bracket == '{' ? ("mapping", '}') : ("list", ']');
        return (Start(first.Line, first.Column), $"the '{first.Bracket}' here opens a {kind} that is never closed: a '{closing}' is missing");
    }

    /// <summary>Whether a flow collection or a quoted scalar may start at <paramref name="c"/> in block context:
    /// at the start of a value (after "key: ", "- ", or at the start of the line).</summary>
    private static bool StartsValue(string line, int c)
    {
        var before = line[..c].TrimEnd();
        return before.Length == 0 || before.EndsWith(':') || before.EndsWith('-');
    }

    private static int ClosingQuote(string line, int start)
    {
        var quote = line[start];
        for (var c = start + 1; c < line.Length; c++)
        {
            if (quote == '"' && line[c] == '\\') { c++; continue; }
            if (line[c] != quote) continue;
            if (quote == '\'' && c + 1 < line.Length && line[c + 1] == '\'') { c++; continue; } // '' is a quote inside
            return c;
        }
        return line.Length;
    }

    private static int? PreviousContentLine(string[] lines, int lineNumber)
    {
        for (var i = lineNumber - 2; i >= 0; i--)
            if (!IsBlankOrComment(lines[i])) return i;
        return null;
    }

    private static bool IsBlankOrComment(string line) => line.TrimStart() is "" or ['#', ..];

    private static int Indentation(string line) => line.Length - line.TrimStart(' ').Length;

    private static Mark Start(int line, int column) => new(0, line, column);

    /// <summary>YamlDotNet's message without its parser's state: "While parsing a block mapping, did not find expected key." becomes "did not find expected key".</summary>
    private static string Plain(string message) =>
        ParserState().Replace(message, "").TrimEnd('.') is { Length: > 0 } plain ? plain : message;

    [GeneratedRegex(@"^While (parsing|scanning) [^,]*, ")]
    private static partial Regex ParserState();

    [GeneratedRegex(@"^\s*-\s+(?<key>[^\s#:][^:#]*):(\s|$)")]
    private static partial Regex ListItem();

    [GeneratedRegex(@"^\s*(-\s+)?(?<key>[^\s#:][^:#]*):\s+\S")]
    private static partial Regex KeyWithValue();
}
