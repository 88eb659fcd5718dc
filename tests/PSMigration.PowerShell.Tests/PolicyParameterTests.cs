using System.Reflection;

namespace PSMigration.PowerShell.Tests;

/// <summary>Set-MigrationPolicy's parameters against Core's policy model: the enums are Core's, their
/// names are the words of the inventory, and every policy key can be set and cleared.</summary>
public sealed class PolicyParameterTests
{
    private static CompiledModule Module => CompiledModule.Instance;
    private static CmdletModel SetPolicy => Module.Cmdlet("Set-MigrationPolicy");

    private static Type Unwrapped(Type type) => CompiledModule.UnderlyingNullable(type) ?? type;

    private static IReadOnlyList<string> Members(Type enumType) =>
        enumType.GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => f.Name).ToList();

    private static IReadOnlyList<string> PolicyKeys() => Module.PolicyKeys();

    [Theory]
    [InlineData("Parallel", "PSMigration.Core.Policies.ParallelMode", new[] { "Cluster", "Disabled", "Auto", "Parallel", "Custom" })]
    [InlineData("Compression", "PSMigration.Core.Policies.CompressionMethod", new[] { "None", "Zlib", "Zstd", "Xbzrle" })]
    [InlineData("Transport", "PSMigration.Core.Policies.MigrationTransport", new[] { "Direct", "Engine" })]
    [InlineData("Encryption", "PSMigration.Core.Policies.EncryptionMode", new[] { "None", "Tls" })]
    [InlineData("Storage", "PSMigration.Core.Policies.StorageMode", new[] { "Shared", "Copy" })]
    [InlineData("TimeoutAction", "PSMigration.Core.Policies.TimeoutAction", new[] { "Cancel", "Postcopy", "Pause" })]
    public void EnumParametersAreCoresEnumsWithTheWordsUsersType(string parameter, string enumName, string[] members)
    {
        var type = Unwrapped(SetPolicy.Parameter(parameter).Type);
        Assert.True(type.IsEnum, $"-{parameter} is {CompiledModule.Spell(type)}, not an enum");
        Assert.Equal(enumName, type.FullName);
        Assert.Same(Module.Core, type.Assembly);
        Assert.Equal(members, Members(type));
    }

    [Fact]
    public void EveryEnumParameterOfEveryCmdletIsCores()
    {
        var bad = Module.Cmdlets.SelectMany(c => c.Parameters.Select(p => (Cmdlet: c, Parameter: p, Type: Unwrapped(p.Type.IsArray ? p.Type.GetElementType()! : p.Type))))
            .Where(x => x.Type.IsEnum && x.Type.Assembly != Module.Core)
            .Select(x => $"{x.Cmdlet.Name} -{x.Parameter.Name} ({x.Type.FullName})").ToList();
        Assert.True(bad.Count == 0, $"enum parameters not from PSMigration.Core: {string.Join(", ", bad)}");
        Assert.Contains(Module.Cmdlets.SelectMany(c => c.Parameters), p => Unwrapped(p.Type).IsEnum);
    }

    [Fact]
    public void TheInventorysSpellingOfEachEnumMemberIsItsName()
    {
        // PowerShell converts "-Compression none" to CompressionMethod.None by name, ignoring case: the word
        // written in YAML and shown in plans ([Spelling]) must be the member's name, or users cannot type it.
        var problems = new List<string>();
        foreach (var type in SetPolicy.Parameters.Select(p => Unwrapped(p.Type)).Where(t => t.IsEnum))
        {
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                var spelling = field.GetCustomAttributesData().SingleOrDefault(a => a.AttributeType.Name == "SpellingAttribute");
                if (spelling is not null && !string.Equals((string)spelling.ConstructorArguments[0].Value!, field.Name, StringComparison.OrdinalIgnoreCase))
                    problems.Add($"{type.Name}.{field.Name} is written '{spelling.ConstructorArguments[0].Value}'");
            }
        }
        Assert.True(problems.Count == 0, string.Join(", ", problems));
    }

    [Fact]
    public void ClearAcceptsExactlyThePolicyKeys()
    {
        var keys = PolicyKeys();
        Assert.Equal(["parallel", "connections", "maxConnections", "postcopy", "compression", "transport", "encryption", "storage", "maxDowntimeMs", "bandwidthGbps", "maxConcurrentIncoming",
                      "autoConverge", "timeoutAction", "completionTimeoutPerGiB", "progressTimeout", "linkLossToleranceSeconds", "networks", "stripe"], keys);
        var clear = SetPolicy.Parameter("Clear");
        var validateSet = clear.Attribute(CompiledModule.Sma + "ValidateSetAttribute")
            ?? throw new Xunit.Sdk.XunitException("-Clear has no [ValidateSet]");
        var values = validateSet.ConstructorArguments.SelectMany(CompiledModule.Values).Cast<string>().ToList();
        Assert.Equal(keys.Order(StringComparer.Ordinal), values.Order(StringComparer.Ordinal));
        Assert.Equal("string[]", CompiledModule.Spell(clear.Type));
    }

    [Fact]
    public void EveryPolicyKeyHasAParameterOfThePolicysType()
    {
        // parallel -> -Parallel, maxDowntimeMs -> -MaxDowntimeMs; its type is EffectivePolicy's (a switch for a bool, an array of
        // its items for a list: -Networks mig,lan).
        var policy = Module.Core.GetType("PSMigration.Core.Policies.EffectivePolicy", throwOnError: true)!;
        var problems = new List<string>();
        foreach (var key in PolicyKeys())
        {
            var name = char.ToUpperInvariant(key[0]) + key[1..];
            var parameter = SetPolicy.Parameters.SingleOrDefault(p => p.Name == name);
            var property = policy.GetProperty(name);
            if (parameter is null) { problems.Add($"no -{name} for '{key}'"); continue; }
            if (property is null) { problems.Add($"EffectivePolicy has no {name}"); continue; }
            var items = ItemsOf(property.PropertyType);
            var want = Unwrapped(property.PropertyType).FullName == "System.Boolean" ? CompiledModule.Sma + "SwitchParameter"
                : items is not null ? items.FullName + "[]"
                : Unwrapped(property.PropertyType).FullName;
            if (Unwrapped(parameter.Type).FullName != want)
                problems.Add($"-{name} is {CompiledModule.Spell(parameter.Type)}, the policy's {name} is {CompiledModule.Spell(property.PropertyType)}");
            else if (want != CompiledModule.Sma + "SwitchParameter" && !parameter.Type.IsArray && CompiledModule.UnderlyingNullable(parameter.Type) is null)
                problems.Add($"-{name} is not nullable: leaving it out could not be told from setting the default");
        }
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>The item type of a read-only list property (TextList&lt;string&gt;: string), or null for a single value.</summary>
    private static Type? ItemsOf(Type type) =>
        type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition().FullName == "System.Collections.Generic.IReadOnlyList`1")
            ?.GetGenericArguments()[0];
}
