using System.Text;

namespace PSMigration.PowerShell.Tests;

/// <summary>
/// Reads a PowerShell data file (.psd1) the way Import-PowerShellDataFile sees its literal parts:
/// hashtables @{ }, arrays @( ) and comma lists, quoted strings, and bare values ($true, 1.0). Comments
/// (# and &lt;# #&gt;) are skipped. Values come back as string, List&lt;object?&gt; or
/// Dictionary&lt;string, object?&gt; (keys case-insensitive, as in PowerShell); a duplicate key is an error.
/// </summary>
public sealed class PowerShellDataFile
{
    private readonly string text;
    private int at;

    private PowerShellDataFile(string text) => this.text = text;

    public static Dictionary<string, object?> Parse(string text)
    {
        var reader = new PowerShellDataFile(text);
        reader.Skip(newlines: true);
        if (reader.Value() is not Dictionary<string, object?> root) throw reader.Fail("the file is not one hashtable @{ ... }");
        reader.Skip(newlines: true);
        if (reader.at < text.Length) throw reader.Fail("text after the closing brace");
        return root;
    }

    /// <summary>A value as a list of strings: a single string is a list of one.</summary>
    public static IReadOnlyList<string> Strings(object? value) => value switch
    {
        null => [],
        string s => [s],
        List<object?> items => items.SelectMany(Strings).ToList(),
        _ => throw new FormatException($"expected strings, found {value.GetType().Name}"),
    };

    private object? Value()
    {
        var first = Single();
        Skip(newlines: false);
        if (Peek() != ',') return first;
        var list = new List<object?> { first };
        while (Peek() == ',')
        {
            at++;
            Skip(newlines: true);
            list.Add(Single());
            Skip(newlines: false);
        }
        return list;
    }

    private object? Single()
    {
        if (Starts("@{")) return Hashtable();
        if (Starts("@(")) return Array();
        var c = Peek();
        if (c == '\'') return SingleQuoted();
        if (c == '"') return DoubleQuoted();
        var start = at;
        while (at < text.Length && !char.IsWhiteSpace(text[at]) && ",;)}#".IndexOf(text[at]) < 0) at++;
        if (at == start) throw Fail("a value is missing");
        return text[start..at];
    }

    private Dictionary<string, object?> Hashtable()
    {
        at += 2;
        var table = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        while (true)
        {
            SkipSeparators();
            if (Peek() == '}') { at++; return table; }
            var key = Peek() switch
            {
                '\'' => SingleQuoted(),
                '"' => DoubleQuoted(),
                _ => Word(),
            };
            Skip(newlines: false);
            if (Peek() != '=') throw Fail($"'=' expected after the key {key}");
            at++;
            Skip(newlines: true);
            if (!table.TryAdd(key, Value())) throw Fail($"the key {key} is given twice");
        }
    }

    private List<object?> Array()
    {
        at += 2;
        var list = new List<object?>();
        while (true)
        {
            SkipSeparators();
            if (Peek() == ')') { at++; return list; }
            list.Add(Single()); // items are separated by commas, newlines or semicolons alike
            Skip(newlines: false);
            if (Peek() == ',') at++;
        }
    }

    private string Word()
    {
        var start = at;
        while (at < text.Length && (char.IsLetterOrDigit(text[at]) || text[at] is '_' or '-')) at++;
        if (at == start) throw Fail("a key is expected");
        return text[start..at];
    }

    private string SingleQuoted()
    {
        at++;
        var value = new StringBuilder();
        while (true)
        {
            if (at >= text.Length) throw Fail("unterminated string");
            if (text[at] == '\'')
            {
                if (at + 1 < text.Length && text[at + 1] == '\'') { value.Append('\''); at += 2; continue; }
                at++;
                return value.ToString();
            }
            value.Append(text[at++]);
        }
    }

    private string DoubleQuoted()
    {
        at++;
        var value = new StringBuilder();
        while (true)
        {
            if (at >= text.Length) throw Fail("unterminated string");
            var c = text[at++];
            if (c == '"') return value.ToString();
            if (c == '`' && at < text.Length) { value.Append(text[at++]); continue; }
            if (c == '$') throw Fail("a data file may not expand variables in strings");
            value.Append(c);
        }
    }

    private void SkipSeparators()
    {
        while (true)
        {
            Skip(newlines: true);
            if (Peek() == ';') { at++; continue; }
            return;
        }
    }

    private void Skip(bool newlines)
    {
        while (at < text.Length)
        {
            var c = text[at];
            if (c == '\n' || c == '\r') { if (!newlines) return; at++; }
            else if (char.IsWhiteSpace(c)) at++;
            else if (Starts("<#"))
            {
                var end = text.IndexOf("#>", at + 2, StringComparison.Ordinal);
                if (end < 0) throw Fail("unterminated block comment");
                at = end + 2;
            }
            else if (c == '#') { while (at < text.Length && text[at] != '\n') at++; }
            else if (c == '`' && at + 1 < text.Length && text[at + 1] is '\n' or '\r') at += 2; // line continuation
            else return;
        }
    }

    private char Peek() => at < text.Length ? text[at] : '\0';

    private bool Starts(string s) => string.CompareOrdinal(text, at, s, 0, s.Length) == 0;

    private FormatException Fail(string message)
    {
        var line = 1 + text.AsSpan(0, Math.Min(at, text.Length)).Count('\n');
        return new FormatException($"psd1 line {line}: {message}");
    }
}
