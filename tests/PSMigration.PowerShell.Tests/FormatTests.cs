using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace PSMigration.PowerShell.Tests;

/// <summary>Migration.format.ps1xml against the compiled types: every cmdlet's output has a view, every
/// view is for a real type, and every property a view shows exists (PowerShell shows a blank column
/// for a misspelt one, silently).</summary>
public sealed class FormatTests
{
    private static CompiledModule Module => CompiledModule.Instance;

    private sealed record View(string Name, IReadOnlyList<string> TypeNames, string Control, XElement Element);

    private static readonly Lazy<IReadOnlyList<View>> Views = new(() =>
    {
        var document = XDocument.Load(TestPaths.InRepository("Migration.format.ps1xml"));
        Assert.Equal("Configuration", document.Root!.Name.LocalName);
        return document.Root.Element("ViewDefinitions")!.Elements("View").Select(v => new View(
            v.Element("Name")?.Value ?? "",
            v.Element("ViewSelectedBy")!.Elements("TypeName").Select(t => t.Value.Trim()).ToList(),
            v.Elements().Single(e => e.Name.LocalName.EndsWith("Control", StringComparison.Ordinal)).Name.LocalName,
            v)).ToList();
    });

    public static TheoryData<string> TypeNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Views.Value.SelectMany(v => v.TypeNames).Distinct()) data.Add(name);
        return data;
    }

    [Fact]
    public void TheFormatFileHasViews()
    {
        Assert.NotEmpty(Views.Value);
        Assert.All(Views.Value, v => Assert.NotEmpty(v.TypeNames));
        Assert.All(Views.Value, v => Assert.False(string.IsNullOrWhiteSpace(v.Name), "a view without a name"));
    }

    /// <summary>Every [OutputType] of every cmdlet that is a type of the module (not -Quiet's booleans): a concise
    /// table for Format-Table (the default, as the first view of a type) and a list for Format-List that shows
    /// the details and the why.</summary>
    public static TheoryData<string> CmdletOutputTypes()
    {
        var data = new TheoryData<string>();
        foreach (var type in Module.Cmdlets.SelectMany(c => c.OutputTypeNames).Where(t => !t.StartsWith("System.", StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal)) data.Add(type);
        return data;
    }

    [Fact]
    public void EveryCmdletDeclaresItsOutputType()
    {
        var missing = Module.Cmdlets.Where(c => c.OutputTypeNames.Count == 0).Select(c => c.Name).ToList();
        Assert.True(missing.Count == 0, $"cmdlets without [OutputType]: {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(CmdletOutputTypes))]
    public void EveryCmdletsOutputTypeHasATableAndAListView(string type)
    {
        var missing = new[] { "TableControl", "ListControl" }
            .Where(control => !Views.Value.Any(v => v.TypeNames.Contains(type) && v.Control == control)).ToList();
        var cmdlets = string.Join(", ", Module.Cmdlets.Where(c => c.OutputTypeNames.Contains(type)));
        Assert.True(missing.Count == 0, $"{type} (output of {cmdlets}) has no {string.Join(" and no ", missing)} view in Migration.format.ps1xml");
    }

    [Theory]
    [MemberData(nameof(CmdletOutputTypes))]
    public void TheTableViewComesFirstSoItIsTheDefault(string type) =>
        Assert.Equal("TableControl", Views.Value.First(v => v.TypeNames.Contains(type)).Control);

    /// <summary>The properties that explain an object (why a plan chose its network, where a policy's
    /// values come from, what went wrong) must appear in its list view.</summary>
    [Theory]
    [InlineData("PSMigration.Core.Planning.MigrationPlan", "Reasons", "Rejected", "Warnings", "AutoConverge", "TimeoutAction", "Failover")]
    [InlineData("PSMigration.Core.Policies.EffectivePolicy", "Sources")]
    [InlineData("PSMigration.Engine.NetworkTest.NetworkTestResult", "Reachable", "Error", "Warnings")]
    [InlineData("PSMigration.Qemu.Migration.MigrationResult", "Error", "ErrorId", "Warnings", "Action", "ThrottlePercent", "Recoveries", "Failovers")]
    [InlineData("PSMigration.Core.Inventory.MigrationHost", "Interfaces")]
    [InlineData("PSMigration.Core.Inventory.VirtualMachine", "Migration", "Location")]
    [InlineData("PSMigration.Qemu.Readiness.MigrationReadiness", "Ready", "Checks")]
    [InlineData("PSMigration.Qemu.Operations.DrainSummary", "Moved", "Failed", "Remaining", "Results", "Notes")]
    public void TheListViewShowsTheExplanations(string type, params string[] properties)
    {
        var lists = Views.Value.Where(v => v.TypeNames.Contains(type) && v.Control == "ListControl").ToList();
        Assert.True(lists.Count > 0, $"{type} has no list view");
        var shown = lists.SelectMany(v => v.Element.Descendants("ListItem"))
            .SelectMany(i => i.Elements("PropertyName").Select(p => p.Value.Trim())
                .Concat(i.Elements("ScriptBlock").SelectMany(b => TopLevelPropertyReferences(b.Value))))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var missing = properties.Where(p => !shown.Contains(p)).ToList();
        Assert.True(missing.Count == 0, $"the list view of {type} does not show {string.Join(", ", missing)}");
    }

    /// <summary>Get-MigrationPolicy | Format-List shows every policy key (a new key is easily left out of the view).</summary>
    [Fact]
    public void ThePolicyListViewShowsEveryPolicyKey()
    {
        var keys = Module.PolicyKeys();
        var shown = Views.Value.Where(v => v.TypeNames.Contains("PSMigration.Core.Policies.EffectivePolicy") && v.Control == "ListControl")
            .SelectMany(v => v.Element.Descendants("PropertyName")).Select(p => p.Value.Trim())
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var missing = keys.Where(k => !shown.Contains(k)).ToList();
        Assert.True(missing.Count == 0, $"the list view of EffectivePolicy does not show {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void EveryViewIsForATypeOfTheModule(string typeName) =>
        Assert.True(Module.ModuleType(typeName) is { IsPublic: true },
            $"<TypeName>{typeName}</TypeName> is not a public type of Migration.dll or PSMigration.Core/Engine/Qemu.dll");

    [Theory]
    [MemberData(nameof(TypeNames))]
    public void EveryPropertyAViewShowsExists(string typeName)
    {
        var type = Module.ModuleType(typeName) ?? throw new Xunit.Sdk.XunitException($"no type {typeName}");
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name)
            .ToHashSet(StringComparer.OrdinalIgnoreCase); // PowerShell looks properties up ignoring case
        var problems = new List<string>();
        foreach (var view in Views.Value.Where(v => v.TypeNames.Contains(typeName)))
        {
            foreach (var name in view.Element.Descendants("PropertyName").Select(p => p.Value.Trim()))
                if (!properties.Contains(name)) problems.Add($"{view.Control} {view.Name}: <PropertyName>{name}</PropertyName>");

            // $_.Name at the top level of a script block (not inside a nested { } such as ForEach-Object's,
            // where $_ is something else) is a property of the object too.
            foreach (var script in view.Element.Descendants("ScriptBlock").Select(s => s.Value))
                foreach (var name in TopLevelPropertyReferences(script))
                    if (!properties.Contains(name)) problems.Add($"{view.Control} {view.Name}: $_.{name} in <ScriptBlock>{script}</ScriptBlock>");
        }
        Assert.True(problems.Count == 0, $"{typeName} has no such properties:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    [Fact]
    public void TopLevelPropertyReferencesSkipNestedScriptBlocks()
    {
        Assert.Equal(["Interfaces", "Parallel"], TopLevelPropertyReferences("($_.Interfaces | ForEach-Object { $_.Name }) + $(if ($_.Parallel) { $_.Other })"));
    }

    [Fact]
    public void TableHeadersMatchTheirColumns()
    {
        // PowerShell refuses the whole format file when a table's header count and column count differ.
        var problems = new List<string>();
        foreach (var view in Views.Value.Where(v => v.Control == "TableControl"))
        {
            var headers = view.Element.Descendants("TableColumnHeader").Count();
            foreach (var row in view.Element.Descendants("TableRowEntry"))
            {
                var columns = row.Descendants("TableColumnItem").Count();
                if (headers > 0 && columns != headers) problems.Add($"{view.Name}: {headers} headers, {columns} columns");
                foreach (var item in row.Descendants("TableColumnItem"))
                    if (item.Element("PropertyName") is null == (item.Element("ScriptBlock") is null))
                        problems.Add($"{view.Name}: a column needs exactly one of PropertyName and ScriptBlock");
            }
        }
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void TheFormatFileInTheBuildOutputIsThisOne() =>
        Assert.Equal(File.ReadAllBytes(TestPaths.InRepository("Migration.format.ps1xml")),
            File.ReadAllBytes(Path.Combine(TestPaths.ModuleDirectory, "Migration.format.ps1xml")));

    private static List<string> TopLevelPropertyReferences(string script)
    {
        var found = new List<string>();
        var depth = 0;
        for (var i = 0; i < script.Length; i++)
        {
            switch (script[i])
            {
                case '{': depth++; break;
                case '}': depth--; break;
                case '$' when depth == 0:
                    var m = Regex.Match(script[i..], @"^\$_\.([A-Za-z_][A-Za-z0-9_]*)");
                    if (m.Success) found.Add(m.Groups[1].Value);
                    break;
            }
        }
        return found;
    }
}
