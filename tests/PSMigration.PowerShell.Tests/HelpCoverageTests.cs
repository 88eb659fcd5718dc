using System.Text.RegularExpressions;
using System.Xml.Linq;
using PSMigration.PowerShell.Tests.Help;

namespace PSMigration.PowerShell.Tests;

/// <summary>
/// The help against the compiled Migration.dll: every cmdlet and parameter has a markdown page entry and a
/// MAML entry, nothing documented is missing from the dll, the yaml blocks and SYNTAX say what the
/// attributes say, and en-US/Migration.dll-Help.xml is exactly what the markdown generates.
/// </summary>
public sealed class HelpCoverageTests
{
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";

    /// <summary>What PowerShell adds to every cmdlet; examples may use them.</summary>
    private static readonly string[] CommonParameters =
    [
        "Debug", "ErrorAction", "ErrorVariable", "InformationAction", "InformationVariable", "OutBuffer", "OutVariable",
        "PipelineVariable", "ProgressAction", "Verbose", "WarningAction", "WarningVariable",
    ];

    private static readonly Lazy<IReadOnlyList<CommandHelp>> Pages = new(HelpFiles.ParseCmdletPages);

    private static CompiledModule Module => CompiledModule.Instance;

    public static TheoryData<string> CmdletNames()
    {
        var data = new TheoryData<string>();
        foreach (var cmdlet in CompiledModule.Instance.Cmdlets) data.Add(cmdlet.Name);
        return data;
    }

    private static CommandHelp Page(string name) =>
        Pages.Value.SingleOrDefault(p => p.Name == name) ?? throw new Xunit.Sdk.XunitException($"docs/{name}.md is missing");

    private static IEnumerable<string> DocumentedNames(CmdletModel cmdlet) =>
        PlatyPsSurface.Parameters(cmdlet).Select(p => p.Name).Order(StringComparer.Ordinal);

    [Fact]
    public void EveryCompiledCmdletHasAPageAndEveryPageACmdlet()
    {
        var files = HelpFiles.CmdletPages().Select(Path.GetFileNameWithoutExtension).ToList();
        Assert.Equal(Module.Cmdlets.Select(c => c.Name).Order(StringComparer.Ordinal), files.Order(StringComparer.Ordinal));
        foreach (var page in Pages.Value)
            Assert.True(files.Contains(page.Name), $"a page's title '# {page.Name}' does not match its file name");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void ThePageDocumentsExactlyTheCompiledParameters(string name)
    {
        var cmdlet = Module.Cmdlet(name);
        var documented = Page(name).Parameters.Select(p => p.Name).ToList();
        var compiled = DocumentedNames(cmdlet).ToList();
        var missing = compiled.Except(documented).ToList();
        var extra = documented.Except(compiled).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"docs/{name}.md: not documented: {string.Join(", ", missing.Select(p => "-" + p))}; documented but not in Migration.dll: {string.Join(", ", extra.Select(p => "-" + p))}. " +
            $"Then regenerate the MAML: {HelpFiles.RegenerateCommand}");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void TheYamlBlocksSayWhatTheAttributesSay(string name)
    {
        var page = Page(name);
        var problems = new List<string>();
        foreach (var expected in PlatyPsSurface.Parameters(Module.Cmdlet(name)))
        {
            var documented = page.Parameters.SingleOrDefault(p => p.Name == expected.Name);
            if (documented is null) continue; // the parameter test reports it
            foreach (var key in PlatyPsSurface.CheckedKeys)
            {
                var want = expected.Yaml.GetValueOrDefault(key, "");
                var have = documented.Value(key);
                if (want != have) problems.Add($"-{expected.Name} {key}: the dll says '{want}', docs/{name}.md says '{have}'");
            }
        }
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void TheSyntaxIsWhatPlatyPsWouldWrite(string name)
    {
        var expected = PlatyPsSurface.Syntax(Module.Cmdlet(name)).Select(s => $"{s.Set} {(s.IsDefault ? "(Default)" : "")}: {s.Line}");
        var documented = Page(name).Syntax.Select(s => $"{s.SetName} {(s.IsDefault ? "(Default)" : "")}: {s.Line}");
        Assert.Equal(expected, documented);
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void ThePageHasItsFrontMatterASynopsisExamplesAndTheOutputTypes(string name)
    {
        var page = Page(name);
        Assert.Equal("Migration.dll-Help.xml", page.FrontMatter.GetValueOrDefault("external help file"));
        Assert.Equal("Migration", page.FrontMatter.GetValueOrDefault("Module Name"));
        Assert.Equal("2.0.0", page.FrontMatter.GetValueOrDefault("schema"));
        Assert.True(page.Synopsis.Count > 0, $"docs/{name}.md has an empty SYNOPSIS");
        Assert.True(page.Description.Count > 0, $"docs/{name}.md has an empty DESCRIPTION");
        Assert.True(page.Examples.Count > 0 && page.Examples.All(e => e.Code.Any(c => c.Trim() != "")),
            $"docs/{name}.md needs at least one example, each with a code block");
        Assert.True(page.Examples.Any(e => e.Code.Any(c => c.Contains(name))), $"no example of docs/{name}.md runs {name}");
        foreach (var parameter in page.Parameters)
            Assert.True(parameter.Description.Count > 0, $"docs/{name}.md: -{parameter.Name} has no description");
        var outputs = page.Outputs.Select(o => o.Name).ToList();
        foreach (var output in Module.Cmdlet(name).OutputTypeNames)
            Assert.True(outputs.Contains(output), $"docs/{name}.md OUTPUTS lacks ### {output} ([OutputType] of the cmdlet)");
    }

    /// <summary>Examples are commands users copy: a misspelt parameter of this module's cmdlets fails here.</summary>
    [Fact]
    public void ExamplesUseOnlyParametersTheCmdletsHave()
    {
        var byName = Module.Cmdlets.ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        foreach (var page in Pages.Value)
        foreach (var code in page.Examples.SelectMany(e => e.Code))
        foreach (var segment in code.Split('\n').SelectMany(l => l.Split('|')))
        {
            var words = segment.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0 || !byName.TryGetValue(words[0], out var cmdlet)) continue;
            var known = cmdlet.Parameters.SelectMany(p => p.Aliases.Append(p.Name)).Concat(CommonParameters)
                .Concat(cmdlet.SupportsShouldProcess ? ["WhatIf", "Confirm"] : []).ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (Match m in Regex.Matches(segment, @"(?<=\s)-(?<name>[A-Za-z]\w*)"))
                if (!known.Contains(m.Groups["name"].Value)) problems.Add($"docs/{page.Name}.md: {cmdlet.Name} has no -{m.Groups["name"].Value} ({segment.Trim()})");
        }
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void TheMamlHasExactlyTheCompiledCmdletsAndParameters()
    {
        Assert.True(File.Exists(HelpFiles.MamlPath), $"{HelpFiles.MamlPath} is missing; make it with: {HelpFiles.RegenerateCommand}");
        var commands = XDocument.Load(HelpFiles.MamlPath).Root!.Elements(Command + "command")
            .ToDictionary(c => c.Element(Command + "details")!.Element(Command + "name")!.Value);
        Assert.Equal(Module.Cmdlets.Select(c => c.Name).Order(StringComparer.Ordinal), commands.Keys.Order(StringComparer.Ordinal));
        var problems = new List<string>();
        foreach (var cmdlet in Module.Cmdlets)
        {
            var command = commands[cmdlet.Name];
            var documented = command.Element(Command + "parameters")!.Elements(Command + "parameter")
                .Select(p => p.Element(Maml + "name")!.Value).Order(StringComparer.Ordinal);
            if (!documented.SequenceEqual(DocumentedNames(cmdlet)))
                problems.Add($"{cmdlet.Name}: the MAML has {string.Join(", ", documented)}; the dll has {string.Join(", ", DocumentedNames(cmdlet))}");
            var sets = command.Element(Command + "syntax")!.Elements(Command + "syntaxItem").Count();
            if (sets != cmdlet.EffectiveSets.Count)
                problems.Add($"{cmdlet.Name}: the MAML has {sets} syntax items; the dll has {cmdlet.EffectiveSets.Count} parameter sets");
        }
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void TheCommittedMamlIsWhatTheMarkdownGenerates()
    {
        var generated = HelpFiles.GenerateMaml();
        if (HelpFiles.WriteRequested)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(HelpFiles.MamlPath)!);
            File.WriteAllText(HelpFiles.MamlPath, generated);
        }
        var committed = File.Exists(HelpFiles.MamlPath) ? File.ReadAllText(HelpFiles.MamlPath) : "";
        Assert.True(committed == generated,
            $"en-US/Migration.dll-Help.xml is not what docs/*.md generates (docs changed without regenerating). Run:{Environment.NewLine}  {HelpFiles.RegenerateCommand}");
    }

    [Fact]
    public void TheModulePageListsEveryCmdlet()
    {
        var text = File.ReadAllText(Path.Combine(HelpFiles.DocsDirectory, HelpFiles.ModulePage));
        var listed = Regex.Matches(text, @"^### \[(?<name>[^\]]+)\]", RegexOptions.Multiline).Select(m => m.Groups["name"].Value);
        Assert.Equal(Module.Cmdlets.Select(c => c.Name).Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheAboutTopicNamesEveryCmdlet()
    {
        Assert.True(File.Exists(HelpFiles.AboutTopicPath), $"{HelpFiles.AboutTopicPath} is missing");
        var text = File.ReadAllText(HelpFiles.AboutTopicPath);
        Assert.StartsWith("TOPIC", text.TrimStart());
        foreach (var section in new[] { "SHORT DESCRIPTION", "LONG DESCRIPTION", "SEE ALSO" }) Assert.Contains(section, text);
        var missing = Module.Cmdlets.Select(c => c.Name).Where(n => !text.Contains(n)).ToList();
        Assert.True(missing.Count == 0, $"about_Migration.help.txt never mentions {string.Join(", ", missing)}");
    }

    [Fact]
    public void TheAboutTopicNamesEveryPolicyKey()
    {
        var text = File.ReadAllText(HelpFiles.AboutTopicPath);
        var missing = Module.PolicyKeys().Where(k => !Regex.IsMatch(text, $@"\b{k}\b")).ToList();
        Assert.True(missing.Count == 0, $"about_Migration.help.txt never names the policy keys {string.Join(", ", missing)}");
    }
}
