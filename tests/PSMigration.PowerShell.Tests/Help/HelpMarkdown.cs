using System.Text.RegularExpressions;

namespace PSMigration.PowerShell.Tests.Help;

public sealed record SyntaxHelp(string? SetName, bool IsDefault, string Line);

public sealed record ExampleHelp(string Title, IReadOnlyList<string> Code, IReadOnlyList<string> Remarks);

public sealed record ParameterHelp(string Name, IReadOnlyList<string> Description, IReadOnlyDictionary<string, string> Yaml)
{
    public string Value(string key) => Yaml.TryGetValue(key, out var value) ? value : "";

    public bool IsSwitch => Value("Type") == "SwitchParameter";
}

public sealed record TypeHelp(string Name, IReadOnlyList<string> Description);

public sealed record LinkHelp(string Text, string Uri);

/// <summary>One cmdlet's help as PlatyPS markdown holds it; paragraphs are lists of lines joined by spaces.</summary>
public sealed record CommandHelp(
    string Name, IReadOnlyDictionary<string, string> FrontMatter, IReadOnlyList<string> Synopsis, IReadOnlyList<SyntaxHelp> Syntax,
    IReadOnlyList<string> Description, IReadOnlyList<ExampleHelp> Examples, IReadOnlyList<ParameterHelp> Parameters,
    IReadOnlyList<TypeHelp> Inputs, IReadOnlyList<TypeHelp> Outputs, IReadOnlyList<string> Notes, IReadOnlyList<LinkHelp> Links);

/// <summary>
/// Reads a cmdlet page in PlatyPS's markdown schema 2.0.0 (front matter, # Name, ## SYNOPSIS ... ## RELATED LINKS),
/// the same structure New-ExternalHelp reads. A page that strays from the schema is an error naming the line.
/// </summary>
public static class HelpMarkdown
{
    private static readonly Regex Link = new(@"^\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)$");

    public static CommandHelp Parse(string path) => Parse(File.ReadAllText(path), Path.GetFileName(path));

    public static CommandHelp Parse(string text, string source)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var index = 0;
        var front = FrontMatter(lines, ref index, source);
        while (index < lines.Length && lines[index].Trim() == "") index++;
        if (index >= lines.Length || !lines[index].StartsWith("# "))
            throw new FormatException($"{source}:{index + 1}: expected '# Cmdlet-Name' after the front matter");
        var name = lines[index][2..].Trim();
        var sections = Sections(lines, index + 1, "## ");

        List<string> Section(string title) =>
            sections.TryGetValue(title, out var body) ? body : throw new FormatException($"{source}: no '## {title}' section");

        return new CommandHelp(name, front,
            Paragraphs(Section("SYNOPSIS")),
            SyntaxOf(Section("SYNTAX"), source),
            Paragraphs(Section("DESCRIPTION")),
            Sections(Section("EXAMPLES"), 0, "### ").Select(e => ExampleOf(e.Key, e.Value)).ToList(),
            Sections(Section("PARAMETERS"), 0, "### ").Where(p => p.Key != "CommonParameters").Select(p => ParameterOf(p.Key, p.Value, source)).ToList(),
            Sections(Section("INPUTS"), 0, "### ").Select(t => new TypeHelp(t.Key, Paragraphs(t.Value))).ToList(),
            Sections(Section("OUTPUTS"), 0, "### ").Select(t => new TypeHelp(t.Key, Paragraphs(t.Value))).ToList(),
            Paragraphs(Section("NOTES")),
            LinksOf(Section("RELATED LINKS"), source));
    }

    private static Dictionary<string, string> FrontMatter(string[] lines, ref int index, string source)
    {
        if (lines.Length == 0 || lines[0] != "---") throw new FormatException($"{source}:1: expected the '---' front matter");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (index = 1; index < lines.Length && lines[index] != "---"; index++)
        {
            var colon = lines[index].IndexOf(':');
            if (colon < 0) throw new FormatException($"{source}:{index + 1}: expected 'key: value' in the front matter");
            values[lines[index][..colon].Trim()] = lines[index][(colon + 1)..].Trim();
        }
        if (index >= lines.Length) throw new FormatException($"{source}: the front matter has no closing '---'");
        index++;
        return values;
    }

    /// <summary>Headings with the given prefix and the lines under each, ignoring headings inside code fences.</summary>
    private static Dictionary<string, List<string>> Sections(IReadOnlyList<string> lines, int start, string prefix)
    {
        var sections = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        var fenced = false;
        for (var i = start; i < lines.Count; i++)
        {
            var line = lines[i];
            if (line.StartsWith("```")) fenced = !fenced;
            if (!fenced && line.StartsWith(prefix))
            {
                current = [];
                sections.Add(line[prefix.Length..].Trim(), current);
                continue;
            }
            current?.Add(line);
        }
        return sections;
    }

    /// <summary>Text outside code fences, one entry per paragraph, lines joined with a space.</summary>
    private static List<string> Paragraphs(IEnumerable<string> lines)
    {
        var paragraphs = new List<string>();
        var current = new List<string>();
        var fenced = false;
        void Flush()
        {
            if (current.Count > 0) paragraphs.Add(string.Join(" ", current));
            current.Clear();
        }
        foreach (var line in lines)
        {
            if (line.StartsWith("```")) { fenced = !fenced; Flush(); continue; }
            if (fenced) continue;
            if (line.Trim() == "") Flush();
            else current.Add(line.Trim());
        }
        Flush();
        return paragraphs;
    }

    /// <summary>The contents of each code fence.</summary>
    private static List<string> CodeBlocks(IEnumerable<string> lines)
    {
        var blocks = new List<string>();
        List<string>? current = null;
        foreach (var line in lines)
        {
            if (!line.StartsWith("```")) { current?.Add(line); continue; }
            if (current is null) current = [];
            else { blocks.Add(string.Join("\n", current)); current = null; }
        }
        return blocks;
    }

    private static List<SyntaxHelp> SyntaxOf(List<string> lines, string source)
    {
        var sets = Sections(lines, 0, "### ");
        if (sets.Count == 0) return CodeBlocks(lines).Select(line => new SyntaxHelp(null, false, line.Trim())).ToList();
        return sets.Select(set =>
        {
            var isDefault = set.Key.EndsWith(" (Default)", StringComparison.Ordinal);
            var code = CodeBlocks(set.Value);
            if (code.Count != 1) throw new FormatException($"{source}: SYNTAX set '{set.Key}' needs exactly one code block");
            return new SyntaxHelp(isDefault ? set.Key[..^" (Default)".Length] : set.Key, isDefault, code[0].Trim());
        }).ToList();
    }

    private static ExampleHelp ExampleOf(string title, List<string> lines) => new(title, CodeBlocks(lines), Paragraphs(lines));

    private static ParameterHelp ParameterOf(string heading, List<string> lines, string source)
    {
        if (!heading.StartsWith('-')) throw new FormatException($"{source}: parameter heading '### {heading}' should be '### -Name'");
        var code = CodeBlocks(lines);
        if (code.Count != 1) throw new FormatException($"{source}: {heading} needs exactly one ```yaml block");
        var yaml = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in code[0].Split('\n').Where(l => l.Trim() != ""))
        {
            var colon = line.IndexOf(':');
            if (colon < 0) throw new FormatException($"{source}: {heading}: '{line}' is not 'Key: value'");
            yaml[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        return new ParameterHelp(heading[1..], Paragraphs(lines), yaml);
    }

    private static List<LinkHelp> LinksOf(List<string> lines, string source) =>
        lines.Where(l => l.Trim() != "").Select(l => Link.Match(l.Trim()) is { Success: true } m
            ? new LinkHelp(m.Groups["text"].Value, m.Groups["uri"].Value)
            : throw new FormatException($"{source}: RELATED LINKS line '{l}' is not [text](uri)")).ToList();
}
