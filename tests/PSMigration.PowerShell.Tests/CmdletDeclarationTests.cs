using System.Reflection;
using System.Text.RegularExpressions;

namespace PSMigration.PowerShell.Tests;

/// <summary>What every cmdlet of Migration.dll must declare: [Cmdlet] with an approved verb and a
/// singular module noun, the class name PowerShell's own cmdlets use, and honest ShouldProcess.</summary>
public sealed class CmdletDeclarationTests
{
    private static CompiledModule Module => CompiledModule.Instance;

    private static readonly string[] VerbClasses =
        ["VerbsCommon", "VerbsData", "VerbsLifecycle", "VerbsDiagnostic", "VerbsCommunications", "VerbsSecurity", "VerbsOther"];

    /// <summary>The approved verbs, read from the reference assembly's Verbs* classes (verb to its class).</summary>
    private static IReadOnlyDictionary<string, string> ApprovedVerbs() =>
        VerbClasses.SelectMany(group => Module.SmaType(group)
                .GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.IsLiteral && f.FieldType.FullName == "System.String")
                .Select(f => (Verb: (string)f.GetRawConstantValue()!, Group: group)))
            .ToDictionary(v => v.Verb, v => v.Group, StringComparer.Ordinal);

    /// <summary>Verbs whose cmdlets change something (the inventory file, a VM, a host): they must
    /// support -WhatIf/-Confirm.</summary>
    private static readonly HashSet<string> StateChangingVerbs = new(StringComparer.Ordinal)
    {
        "Add", "Clear", "Copy", "Move", "New", "Remove", "Rename", "Reset", "Set", "Start", "Stop", "Restart",
        "Suspend", "Resume", "Update", "Install", "Uninstall", "Register", "Unregister", "Enable", "Disable",
        "Invoke", "Publish", "Unpublish", "Sync", "Restore", "Backup", "Save", "Send", "Grant", "Revoke",
        "Block", "Unblock", "Protect", "Unprotect", "Lock", "Unlock", "Mount", "Dismount", "Initialize",
        "Submit", "Complete", "Repair", "Optimize", "Edit", "Merge", "Push", "Pop", "Approve", "Deny",
        "Export", "Redo", "Undo",
    };

    /// <summary>Verbs of cmdlets that only look: they must not offer -WhatIf/-Confirm they never honour.</summary>
    private static readonly HashSet<string> ReadOnlyVerbs = new(StringComparer.Ordinal)
    {
        "Get", "Test", "Find", "Show", "Measure", "Compare", "Resolve", "Search", "Select", "Watch", "Wait",
        "Trace", "Ping", "Read", "Format", "ConvertFrom", "ConvertTo", "Split", "Join",
    };

    [Fact]
    public void TheModuleHasCmdlets()
    {
        Assert.NotEmpty(Module.Cmdlets);
        Assert.Contains(Module.Cmdlets, c => c.Name == "Get-MigrationPlan");
    }

    [Fact]
    public void EveryPublicCmdletClassHasACmdletAttribute()
    {
        var missing = Module.CmdletTypes()
            .Where(t => CompiledModule.Attribute(t, CompiledModule.Sma + "CmdletAttribute") is null)
            .Select(t => t.FullName).ToList();
        Assert.True(missing.Count == 0, $"Cmdlet classes without [Cmdlet]: {string.Join(", ", missing)}");
    }

    [Fact]
    public void NoHiddenTypeCarriesACmdletAttribute()
    {
        // PowerShell exports public cmdlet classes only: a [Cmdlet] on anything else is a cmdlet nobody can call.
        var hidden = Module.Migration.GetTypes()
            .Where(t => CompiledModule.Attribute(t, CompiledModule.Sma + "CmdletAttribute") is not null)
            .Where(t => !t.IsPublic || t.IsAbstract || !t.IsSubclassOf(Module.SmaType("Cmdlet")))
            .Select(t => t.FullName).ToList();
        Assert.True(hidden.Count == 0, $"[Cmdlet] on types PowerShell will not load as cmdlets: {string.Join(", ", hidden)}");
    }

    [Fact]
    public void TheApprovedVerbListComesFromTheReferenceAssembly()
    {
        var verbs = ApprovedVerbs();
        Assert.True(verbs.Count >= 90, $"only {verbs.Count} approved verbs read from System.Management.Automation");
        Assert.Equal("VerbsCommon", verbs["Get"]);
        Assert.Equal("VerbsDiagnostic", verbs["Test"]);
        Assert.Equal("VerbsLifecycle", verbs["Start"]);
        Assert.False(verbs.ContainsKey("Plan"));
    }

    [Fact]
    public void TheVerbClassificationNamesOnlyApprovedVerbs()
    {
        var verbs = ApprovedVerbs();
        var typos = StateChangingVerbs.Concat(ReadOnlyVerbs).Where(v => !verbs.ContainsKey(v)).ToList();
        Assert.True(typos.Count == 0, $"not approved verbs in this test's lists: {string.Join(", ", typos)}");
        Assert.Empty(StateChangingVerbs.Intersect(ReadOnlyVerbs));
    }

    [Fact]
    public void EveryVerbIsApproved()
    {
        var verbs = ApprovedVerbs();
        var bad = Module.Cmdlets.Where(c => !verbs.ContainsKey(c.Verb)).Select(c => c.Name).ToList();
        Assert.True(bad.Count == 0, $"unapproved verbs (Import-Module warns about them): {string.Join(", ", bad)}");
    }

    /// <summary>The module's nouns all name migration things: "Migration…" (the module's own objects:
    /// MigrationPlan, MigrationPolicy, MigrationHost, MigrationVM) or "VMMigration" (the act of migrating
    /// a VM, as in Start-VMMigration, like Hyper-V's Move-VM family). Singular, as PowerShell's guidelines
    /// ask: the last word may not end in a plural "s" (words ending in ss, us, is are not plurals).</summary>
    [Fact]
    public void EveryNounIsASingularModuleNoun()
    {
        var bad = new List<string>();
        foreach (var c in Module.Cmdlets)
        {
            if (!Regex.IsMatch(c.Noun, "^[A-Z][A-Za-z0-9]*$")) bad.Add($"{c.Name}: the noun is not PascalCase letters and digits");
            if (!c.Noun.StartsWith("Migration", StringComparison.Ordinal) && !c.Noun.StartsWith("VMMigration", StringComparison.Ordinal))
                bad.Add($"{c.Name}: the noun does not start with Migration or VMMigration");
            var last = Regex.Matches(c.Noun, "[A-Z]+(?![a-z])|[A-Z][a-z0-9]*").Last().Value;
            if (last.EndsWith('s') && !Regex.IsMatch(last, "(ss|us|is)$")) bad.Add($"{c.Name}: the noun looks plural ({last})");
        }
        Assert.True(bad.Count == 0, string.Join(Environment.NewLine, bad));
    }

    [Fact]
    public void CmdletNamesAreUniqueAndClassesAreNamedVerbNounCommand()
    {
        var duplicates = Module.Cmdlets.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"cmdlets declared twice: {string.Join(", ", duplicates)}");
        var misnamed = Module.Cmdlets.Where(c => c.Type.Name != $"{c.Verb}{c.Noun}Command").Select(c => $"{c.Name} is {c.Type.Name}").ToList();
        Assert.True(misnamed.Count == 0, $"classes not named VerbNounCommand: {string.Join(", ", misnamed)}");
    }

    [Fact]
    public void StateChangingVerbsSupportShouldProcessAndReadOnlyVerbsDoNot()
    {
        var bad = new List<string>();
        foreach (var c in Module.Cmdlets)
        {
            if (StateChangingVerbs.Contains(c.Verb) && !c.SupportsShouldProcess)
                bad.Add($"{c.Name} changes state but has no SupportsShouldProcess (-WhatIf/-Confirm)");
            else if (ReadOnlyVerbs.Contains(c.Verb) && c.SupportsShouldProcess)
                bad.Add($"{c.Name} only reads but offers -WhatIf/-Confirm");
            else if (!StateChangingVerbs.Contains(c.Verb) && !ReadOnlyVerbs.Contains(c.Verb))
                bad.Add($"{c.Name}: classify the verb {c.Verb} in this test as state-changing or read-only");
            if (!c.SupportsShouldProcess && c.ConfirmImpact is not null)
                bad.Add($"{c.Name} sets ConfirmImpact without SupportsShouldProcess");
        }
        Assert.True(bad.Count == 0, string.Join(Environment.NewLine, bad));
    }

    [Fact]
    public void ParametersArePublicAndSettable()
    {
        // PowerShell binds public properties with a public setter (or public fields); anything else
        // carrying [Parameter] is silently not a parameter, or fails when bound.
        var bad = new List<string>();
        foreach (var type in Module.CmdletTypes())
        {
            for (var t = type; t is not null && t.Assembly == Module.Migration; t = t.BaseType)
            {
                const BindingFlags declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
                foreach (var member in t.GetProperties(declared).Cast<MemberInfo>().Concat(t.GetFields(declared)))
                {
                    if (!member.GetCustomAttributesData().Any(a => a.AttributeType.FullName == CompiledModule.Sma + "ParameterAttribute")) continue;
                    var ok = member switch
                    {
                        PropertyInfo p => p.GetMethod is { IsPublic: true, IsStatic: false } && p.SetMethod is { IsPublic: true },
                        FieldInfo f => f.IsPublic && !f.IsStatic && !f.IsInitOnly,
                        _ => false,
                    };
                    if (!ok) bad.Add($"{t.Name}.{member.Name}");
                }
            }
        }
        Assert.True(bad.Count == 0, $"[Parameter] members PowerShell cannot bind: {string.Join(", ", bad)}");
    }
}
