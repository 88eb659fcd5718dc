using System.Reflection;

namespace PSMigration.PowerShell.Tests.Help;

/// <summary>One parameter's yaml block as PlatyPS's New-MarkdownHelp writes it, from the compiled attributes.</summary>
public sealed record ParameterFacts(string Name, IReadOnlyDictionary<string, string> Yaml);

/// <summary>
/// What PlatyPS would write for a compiled cmdlet: the SYNTAX lines (PowerShell's display order:
/// positional by position, then named in declaration order, then -WhatIf/-Confirm) and the yaml block
/// of every parameter. The markdown must agree with it; descriptions and examples are the author's.
/// </summary>
public static class PlatyPsSurface
{
    /// <summary>The yaml keys the tests compare ("Default value" is the author's to write).</summary>
    public static readonly string[] CheckedKeys =
        ["Type", "Parameter Sets", "Aliases", "Accepted values", "Required", "Position", "Accept pipeline input", "Accept wildcard characters"];

    /// <summary>The compiled parameters plus the ones SupportsShouldProcess adds.</summary>
    public static IReadOnlyList<ParameterFacts> Parameters(CmdletModel cmdlet)
    {
        var facts = cmdlet.Parameters.Select(Describe).ToList();
        if (cmdlet.SupportsShouldProcess)
        {
            facts.Add(ShouldProcessSwitch("Confirm", "cf"));
            facts.Add(ShouldProcessSwitch("WhatIf", "wi"));
        }
        return facts;
    }

    /// <summary>Set name (null for a cmdlet with one implicit set) and its syntax line.</summary>
    public static IReadOnlyList<(string? Set, bool IsDefault, string Line)> Syntax(CmdletModel cmdlet) =>
        cmdlet.NamedSets.Count == 0
            ? [(null, false, SyntaxLine(cmdlet, CompiledModule.AllParameterSets))]
            : cmdlet.NamedSets
                .OrderBy(s => s == cmdlet.DefaultParameterSetName ? 0 : 1).ThenBy(s => s, StringComparer.Ordinal)
                .Select(s => ((string?)s, s == cmdlet.DefaultParameterSetName, SyntaxLine(cmdlet, s))).ToList();

    private static string SyntaxLine(CmdletModel cmdlet, string set)
    {
        var inSet = cmdlet.Parameters.Where(p => p.InSet(set)).ToList();
        var positional = inSet.Where(p => p.Entry(set).Position is not null).OrderBy(p => p.Entry(set).Position);
        var named = inSet.Where(p => p.Entry(set).Position is null);
        var parts = positional.Concat(named).Select(p => Syntax(p, p.Entry(set))).ToList();
        if (cmdlet.SupportsShouldProcess) parts.AddRange(["[-WhatIf]", "[-Confirm]"]);
        parts.Add("[<CommonParameters>]");
        return $"{cmdlet.Name} {string.Join(" ", parts)}";
    }

    private static string Syntax(ParameterModel parameter, ParameterSetEntry entry)
    {
        var name = entry.Position is null ? $"-{parameter.Name}" : $"[-{parameter.Name}]";
        var text = IsSwitch(parameter.Type) ? name : $"{name} <{TypeName(parameter.Type)}>";
        return entry.Mandatory ? text : $"[{text}]";
    }

    private static ParameterFacts Describe(ParameterModel parameter)
    {
        if (parameter.Sets.Count != 1)
            throw new NotSupportedException($"-{parameter.Name} has {parameter.Sets.Count} [Parameter] attributes; PlatyPS writes one yaml block per set, which this check does not model yet");
        var entry = parameter.Sets[0];
        var yaml = new Dictionary<string, string>
        {
            ["Type"] = TypeName(parameter.Type),
            ["Parameter Sets"] = entry.SetName == CompiledModule.AllParameterSets ? "(All)" : entry.SetName,
            ["Aliases"] = string.Join(", ", parameter.Aliases),
            ["Required"] = entry.Mandatory ? "True" : "False",
            ["Position"] = entry.Position?.ToString() ?? "Named",
            ["Accept pipeline input"] = PipelineInput(entry),
            ["Accept wildcard characters"] = parameter.Has(CompiledModule.Sma + "SupportsWildcardsAttribute") ? "True" : "False",
        };
        if (AcceptedValues(parameter) is { Count: > 0 } values) yaml["Accepted values"] = string.Join(", ", values);
        return new ParameterFacts(parameter.Name, yaml);
    }

    private static ParameterFacts ShouldProcessSwitch(string name, string alias) => new(name, new Dictionary<string, string>
    {
        ["Type"] = "SwitchParameter",
        ["Parameter Sets"] = "(All)",
        ["Aliases"] = alias,
        ["Required"] = "False",
        ["Position"] = "Named",
        ["Accept pipeline input"] = "False",
        ["Accept wildcard characters"] = "False",
    });

    private static string PipelineInput(ParameterSetEntry entry) => (entry.FromPipelineByPropertyName, entry.FromPipeline) switch
    {
        (true, true) => "True (ByPropertyName, ByValue)",
        (true, false) => "True (ByPropertyName)",
        (false, true) => "True (ByValue)",
        _ => "False",
    };

    /// <summary>[ValidateSet] values, or an enum's names (PowerShell completes and checks both).</summary>
    private static IReadOnlyList<string> AcceptedValues(ParameterModel parameter)
    {
        if (parameter.Attribute(CompiledModule.Sma + "ValidateSetAttribute") is { } set)
            return set.ConstructorArguments.SelectMany(CompiledModule.Values).Cast<string>().ToList();
        var type = CompiledModule.UnderlyingNullable(parameter.Type) ?? parameter.Type;
        return type.IsEnum ? type.GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name).ToList() : [];
    }

    /// <summary>PlatyPS's spelling: the short name, Nullable unwrapped ("Int32", "String[]", "ParallelMode").</summary>
    public static string TypeName(Type type)
    {
        if (type.IsArray) return TypeName(type.GetElementType()!) + "[]";
        return CompiledModule.UnderlyingNullable(type) is { } inner ? TypeName(inner) : type.Name;
    }

    private static bool IsSwitch(Type type) => type.FullName == CompiledModule.Sma + "SwitchParameter";
}
