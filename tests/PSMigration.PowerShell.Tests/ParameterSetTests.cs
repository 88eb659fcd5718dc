using System.Reflection;

namespace PSMigration.PowerShell.Tests;

/// <summary>Parameter sets PowerShell can resolve: consistent names, a default that exists, no two
/// parameters fighting over a position, no name or alias given twice (common parameters included).</summary>
public sealed class ParameterSetTests
{
    private static CompiledModule Module => CompiledModule.Instance;

    public static TheoryData<string> CmdletNames()
    {
        var data = new TheoryData<string>();
        foreach (var cmdlet in CompiledModule.Instance.Cmdlets) data.Add(cmdlet.Name);
        return data;
    }

    /// <summary>The names and aliases PowerShell adds to every cmdlet, read from the reference assembly's
    /// CommonParameters (and ShouldProcessParameters when SupportsShouldProcess is on). PowerShell 7.4 adds
    /// -ProgressAction (alias proga), which the 5.1 reference assembly does not know.</summary>
    private static IReadOnlyList<(string Name, IReadOnlyList<string> Aliases)> CommonParameters(bool shouldProcess)
    {
        var classes = shouldProcess ? new[] { "CommonParameters", "ShouldProcessParameters" } : ["CommonParameters"];
        var found = new List<(string, IReadOnlyList<string>)>();
        foreach (var name in classes)
        {
            var type = Module.Automation.GetType(CompiledModule.Sma + "Internal." + name, throwOnError: true)!;
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var aliases = property.GetCustomAttributesData()
                    .Where(a => a.AttributeType.FullName == CompiledModule.Sma + "AliasAttribute")
                    .SelectMany(a => a.ConstructorArguments.SelectMany(CompiledModule.Values)).Cast<string>().ToList();
                found.Add((property.Name, aliases));
            }
        }
        found.Add(("ProgressAction", ["proga"]));
        return found;
    }

    [Fact]
    public void TheCommonParametersComeFromTheReferenceAssembly()
    {
        var common = CommonParameters(shouldProcess: true);
        Assert.Contains(common, p => p.Name == "ErrorAction" && p.Aliases.Contains("ea"));
        Assert.Contains(common, p => p.Name == "WhatIf" && p.Aliases.Contains("wi"));
        Assert.Contains(common, p => p.Name == "Confirm" && p.Aliases.Contains("cf"));
        Assert.DoesNotContain(CommonParameters(shouldProcess: false), p => p.Name == "WhatIf");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void NoNameOrAliasIsUsedTwice(string name)
    {
        var cmdlet = Module.Cmdlet(name);
        var names = cmdlet.Parameters.SelectMany(p => p.Aliases.Prepend(p.Name).Select(n => (Name: n, Owner: p.Name)))
            .Concat(CommonParameters(cmdlet.SupportsShouldProcess).SelectMany(p => p.Aliases.Prepend(p.Name).Select(n => (Name: n, Owner: "common -" + p.Name))))
            .ToList();
        var clashes = names.GroupBy(n => n.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(n => n.Owner))}").ToList();
        Assert.True(clashes.Count == 0, $"{name}: names or aliases given twice: {string.Join("; ", clashes)}");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void ParameterSetNamesAreConsistent(string name)
    {
        var cmdlet = Module.Cmdlet(name);
        var problems = new List<string>();
        var sets = cmdlet.NamedSets;

        // "VM" and "Vm" would be two sets to the binder but one to a reader.
        foreach (var g in sets.GroupBy(s => s, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            problems.Add($"sets differing only in case: {string.Join(", ", g)}");

        foreach (var p in cmdlet.Parameters)
        {
            if (p.Sets.Count == 0) problems.Add($"-{p.Name} has no [Parameter]");
            foreach (var g in p.Sets.GroupBy(s => s.SetName).Where(g => g.Count() > 1))
                problems.Add($"-{p.Name} declares set {g.Key} twice");
            if (p.Sets.Count > 1 && p.Sets.Any(s => s.SetName == CompiledModule.AllParameterSets))
                problems.Add($"-{p.Name} is in all sets and also names sets");
        }

        if (cmdlet.DefaultParameterSetName is { } fallback)
        {
            if (!sets.Contains(fallback, StringComparer.Ordinal))
                problems.Add($"DefaultParameterSetName '{fallback}' is none of the sets ({string.Join(", ", sets)})");
        }
        else if (sets.Count > 1)
        {
            problems.Add($"several sets ({string.Join(", ", sets)}) but no DefaultParameterSetName: a call with no set-specific parameter cannot be resolved");
        }

        // Every named set needs a parameter of its own, or the binder cannot tell it from the others.
        foreach (var set in sets)
        {
            var own = cmdlet.Parameters.Where(p => p.Sets.Count > 0 && p.Sets.All(s => s.SetName == set)).ToList();
            if (own.Count == 0) problems.Add($"set {set} has no parameter of its own");
        }
        Assert.True(problems.Count == 0, $"{name}: {string.Join("; ", problems)}");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void NoTwoParametersOfASetShareAPosition(string name)
    {
        var cmdlet = Module.Cmdlet(name);
        var problems = new List<string>();
        foreach (var set in cmdlet.EffectiveSets)
        {
            var positional = cmdlet.Parameters.Where(p => p.InSet(set))
                .Select(p => (p.Name, p.Entry(set).Position)).Where(p => p.Position is not null).ToList();
            foreach (var g in positional.GroupBy(p => p.Position).Where(g => g.Count() > 1))
                problems.Add($"set {set}: position {g.Key} is taken by {string.Join(" and ", g.Select(p => "-" + p.Name))}");
            if (positional.Any(p => p.Position < 0)) problems.Add($"set {set}: a negative position");
        }
        Assert.True(problems.Count == 0, $"{name}: {string.Join("; ", problems)}");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void EachSetTakesPipelineInputByValueAtMostOnceAndRemainingArgumentsAtMostOnce(string name)
    {
        var cmdlet = Module.Cmdlet(name);
        var problems = new List<string>();
        foreach (var set in cmdlet.EffectiveSets)
        {
            var inSet = cmdlet.Parameters.Where(p => p.InSet(set)).ToList();
            var byValue = inSet.Where(p => p.Entry(set).FromPipeline).ToList();
            // Two by-value parameters of the same type make every input object ambiguous.
            foreach (var g in byValue.GroupBy(p => p.Type).Where(g => g.Count() > 1))
                problems.Add($"set {set}: {string.Join(", ", g.Select(p => "-" + p.Name))} all take {CompiledModule.Spell(g.Key)} from the pipeline");
            if (inSet.Count(p => p.Entry(set).FromRemainingArguments) > 1)
                problems.Add($"set {set}: more than one ValueFromRemainingArguments");
        }
        Assert.True(problems.Count == 0, $"{name}: {string.Join("; ", problems)}");
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void SwitchesAreNeitherMandatoryNorPositional(string name)
    {
        // A SwitchParameter must never be mandatory or positional: PowerShell's guidelines, and -Switch:$false breaks it.
        var cmdlet = Module.Cmdlet(name);
        var bad = cmdlet.Parameters.Where(p => p.Type.FullName == CompiledModule.Sma + "SwitchParameter")
            .Where(p => p.Sets.Any(s => s.Mandatory || s.Position is not null)).Select(p => p.Name).ToList();
        Assert.True(bad.Count == 0, $"{name}: switches that are mandatory or positional: {string.Join(", ", bad)}");
    }
}
