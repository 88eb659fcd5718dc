using System.Collections.ObjectModel;
using System.Reflection;
using System.Runtime.InteropServices;

namespace PSMigration.PowerShell.Tests;

/// <summary>Where the build put what the tests inspect (written into this assembly by the .csproj).
/// PSMIGRATION_DLL overrides the Migration.dll to inspect (for example a laid-out module folder).</summary>
internal static class TestPaths
{
    public static string MigrationDll =>
        Environment.GetEnvironmentVariable("PSMIGRATION_DLL") is { Length: > 0 } given ? Path.GetFullPath(given) : Metadata("MigrationDll");

    public static string ModuleDirectory => Path.GetDirectoryName(MigrationDll)!;

    public static string SystemManagementAutomationDll => Metadata("SystemManagementAutomationDll");

    public static string RepositoryRoot => Metadata("RepositoryRoot");

    public static string InRepository(string relative) => Path.Combine(RepositoryRoot, relative);

    private static string Metadata(string key) =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The test assembly has no '{key}' metadata; the .csproj target PSMigrationTestPaths did not run.");
}

/// <summary>One way a parameter takes part in a parameter set: one [Parameter] attribute.</summary>
public sealed record ParameterSetEntry(
    string SetName, bool Mandatory, int? Position, bool FromPipeline, bool FromPipelineByPropertyName, bool FromRemainingArguments);

/// <summary>A cmdlet parameter as PowerShell will see it: a public property or field with [Parameter].</summary>
public sealed record ParameterModel(
    string Name, Type Type, MemberInfo Member, IReadOnlyList<ParameterSetEntry> Sets, IReadOnlyList<string> Aliases,
    IReadOnlyList<CustomAttributeData> Attributes)
{
    public bool Has(string attributeFullName) => Attributes.Any(a => a.AttributeType.FullName == attributeFullName);

    public CustomAttributeData? Attribute(string attributeFullName) =>
        Attributes.SingleOrDefault(a => a.AttributeType.FullName == attributeFullName);

    public bool InSet(string set) => Sets.Any(s => s.SetName == set || s.SetName == CompiledModule.AllParameterSets);

    public ParameterSetEntry Entry(string set) =>
        Sets.SingleOrDefault(s => s.SetName == set) ?? Sets.Single(s => s.SetName == CompiledModule.AllParameterSets);
}

public sealed record CmdletModel(
    Type Type, string Verb, string Noun, bool SupportsShouldProcess, string? DefaultParameterSetName, string? ConfirmImpact,
    IReadOnlyList<ParameterModel> Parameters, IReadOnlyList<string> OutputTypeNames)
{
    public string Name => $"{Verb}-{Noun}";

    public ParameterModel Parameter(string name) =>
        Parameters.SingleOrDefault(p => p.Name == name) ?? throw new Xunit.Sdk.XunitException($"{Name} has no parameter -{name}");

    /// <summary>The named sets; empty when every parameter is in all sets.</summary>
    public IReadOnlyList<string> NamedSets =>
        Parameters.SelectMany(p => p.Sets).Select(s => s.SetName).Where(s => s != CompiledModule.AllParameterSets).Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>The sets PowerShell will know: the named ones, or the single implicit one.</summary>
    public IReadOnlyList<string> EffectiveSets => NamedSets.Count > 0 ? NamedSets : [CompiledModule.AllParameterSets];

    public override string ToString() => Name;
}

/// <summary>
/// The compiled module opened for inspection only, in a <see cref="MetadataLoadContext"/> over the
/// module's folder, this runtime's assemblies and the PowerShellStandard reference assembly: nothing of
/// it runs, so no PowerShell is needed.
/// </summary>
public sealed class CompiledModule
{
    public const string Sma = "System.Management.Automation.";
    public const string AllParameterSets = "__AllParameterSets";

    private static readonly Lazy<CompiledModule> Shared = new(() => new CompiledModule(), LazyThreadSafetyMode.ExecutionAndPublication);

    public static CompiledModule Instance => Shared.Value;

    private CompiledModule()
    {
        var migrationDll = TestPaths.MigrationDll;
        var smaDll = TestPaths.SystemManagementAutomationDll;
        if (!File.Exists(migrationDll)) throw new FileNotFoundException("Build PSMigration.PowerShell first: no Migration.dll", migrationDll);
        if (!File.Exists(smaDll)) throw new FileNotFoundException("PowerShellStandard.Library's System.Management.Automation.dll is missing", smaDll);

        var paths = Directory.GetFiles(Path.GetDirectoryName(migrationDll)!, "*.dll")
            .Concat(Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll"))
            .Append(smaDll)
            // The module folder must not carry its own System.Management.Automation.dll (a test checks); the reference one is used here.
            .Where(p => !(Path.GetFileName(p).Equals("System.Management.Automation.dll", StringComparison.OrdinalIgnoreCase) && p != smaDll))
            .ToList();
        Context = new MetadataLoadContext(new PathAssemblyResolver(paths));
        Migration = Context.LoadFromAssemblyPath(migrationDll);
        Automation = Context.LoadFromAssemblyPath(smaDll);
        Core = Context.LoadFromAssemblyName("PSMigration.Core");
        Engine = Context.LoadFromAssemblyName("PSMigration.Engine");
        Qemu = Context.LoadFromAssemblyName("PSMigration.Qemu");
        Cmdlets = CmdletTypes().Select(Describe).OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    public MetadataLoadContext Context { get; }
    public Assembly Migration { get; }
    public Assembly Core { get; }
    public Assembly Engine { get; }
    public Assembly Qemu { get; }
    public Assembly Automation { get; }
    public IReadOnlyList<CmdletModel> Cmdlets { get; }

    public Type SmaType(string name) => Automation.GetType(Sma + name, throwOnError: true)!;

    public CmdletModel Cmdlet(string name) =>
        Cmdlets.SingleOrDefault(c => c.Name == name) ?? throw new Xunit.Sdk.XunitException($"Migration.dll has no cmdlet {name}; it has {string.Join(", ", Cmdlets)}");

    /// <summary>Public, non-abstract classes deriving from System.Management.Automation.Cmdlet:
    /// what PowerShell would look at when importing the module.</summary>
    public IReadOnlyList<Type> CmdletTypes()
    {
        var cmdlet = SmaType("Cmdlet");
        return Migration.GetTypes().Where(t => t.IsClass && t.IsPublic && !t.IsAbstract && t.IsSubclassOf(cmdlet)).ToList();
    }

    /// <summary>The policy keys, read from Core's PolicyKeys constants, in their declared order.</summary>
    public IReadOnlyList<string> PolicyKeys() =>
        Core.GetType("PSMigration.Core.Policies.PolicyKeys", throwOnError: true)!
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType.FullName == "System.String")
            .Select(f => (string)f.GetRawConstantValue()!).ToList();

    /// <summary>A type of the module's own assemblies (Migration.dll, PSMigration.Core/Engine/Qemu.dll), or null.</summary>
    public Type? ModuleType(string fullName) =>
        Migration.GetType(fullName) ?? Core.GetType(fullName) ?? Engine.GetType(fullName) ?? Qemu.GetType(fullName);

    public static CustomAttributeData? Attribute(MemberInfo member, string fullName) =>
        member.GetCustomAttributesData().SingleOrDefault(a => a.AttributeType.FullName == fullName);

    public static object? Named(CustomAttributeData attribute, string name) =>
        attribute.NamedArguments.Where(n => n.MemberName == name).Select(n => n.TypedValue.Value).FirstOrDefault();

    /// <summary>The values of a "params T[]" constructor argument (or of a single one).</summary>
    public static IEnumerable<object?> Values(CustomAttributeTypedArgument argument) =>
        argument.Value is ReadOnlyCollection<CustomAttributeTypedArgument> items ? items.Select(i => i.Value) : [argument.Value];

    /// <summary>"string[]", "int?", "PSMigration.Core.Policies.ParallelMode?": types as the tables below spell them.</summary>
    public static string Spell(Type type)
    {
        if (type.IsArray) return Spell(type.GetElementType()!) + "[]";
        if (UnderlyingNullable(type) is { } inner) return Spell(inner) + "?";
        return type.FullName switch
        {
            "System.String" => "string",
            "System.Int32" => "int",
            "System.Int64" => "long",
            "System.Double" => "double",
            "System.Boolean" => "bool",
            "System.Object" => "object",
            _ => type.FullName!,
        };
    }

    /// <summary>Nullable.GetUnderlyingType compares with the runtime's typeof(Nullable&lt;&gt;), which a
    /// MetadataLoadContext type never equals; compare by name instead.</summary>
    public static Type? UnderlyingNullable(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition().FullName == "System.Nullable`1" ? type.GetGenericArguments()[0] : null;

    private CmdletModel Describe(Type type)
    {
        var cmdlet = Attribute(type, Sma + "CmdletAttribute")
            ?? throw new Xunit.Sdk.XunitException($"{type.FullName} derives from Cmdlet but has no [Cmdlet] attribute");
        var confirm = Named(cmdlet, "ConfirmImpact") is { } impact
            ? EnumName(cmdlet.NamedArguments.First(n => n.MemberName == "ConfirmImpact").TypedValue.ArgumentType, impact)
            : null;
        var outputs = type.GetCustomAttributesData()
            .Where(a => a.AttributeType.FullName == Sma + "OutputTypeAttribute")
            .SelectMany(a => a.ConstructorArguments.SelectMany(Values))
            .Select(v => v switch { Type t => t.FullName!, string s => s, _ => throw new InvalidOperationException($"odd OutputType value {v}") })
            .ToList();
        return new CmdletModel(type,
            (string)cmdlet.ConstructorArguments[0].Value!, (string)cmdlet.ConstructorArguments[1].Value!,
            Named(cmdlet, "SupportsShouldProcess") is true,
            Named(cmdlet, "DefaultParameterSetName") as string,
            confirm,
            ParameterMembers(type).Select(DescribeParameter).ToList(),
            outputs);
    }

    /// <summary>Public instance properties and fields with [Parameter], inherited ones included.</summary>
    public static IEnumerable<MemberInfo> ParameterMembers(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Cast<MemberInfo>()
            .Concat(type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            .Where(m => m.GetCustomAttributesData().Any(a => a.AttributeType.FullName == Sma + "ParameterAttribute"));

    private static ParameterModel DescribeParameter(MemberInfo member)
    {
        var attributes = member.GetCustomAttributesData().ToList();
        var sets = attributes.Where(a => a.AttributeType.FullName == Sma + "ParameterAttribute").Select(p => new ParameterSetEntry(
            Named(p, "ParameterSetName") as string ?? AllParameterSets,
            Named(p, "Mandatory") is true,
            Named(p, "Position") is int position && position != int.MinValue ? position : null,
            Named(p, "ValueFromPipeline") is true,
            Named(p, "ValueFromPipelineByPropertyName") is true,
            Named(p, "ValueFromRemainingArguments") is true)).ToList();
        var aliases = attributes.Where(a => a.AttributeType.FullName == Sma + "AliasAttribute")
            .SelectMany(a => a.ConstructorArguments.SelectMany(Values)).Cast<string>().ToList();
        var type = member is PropertyInfo property ? property.PropertyType : ((FieldInfo)member).FieldType;
        return new ParameterModel(member.Name, type, member, sets, aliases, attributes);
    }

    private static string EnumName(Type enumType, object value) =>
        enumType.GetFields(BindingFlags.Public | BindingFlags.Static).FirstOrDefault(f => Equals(f.GetRawConstantValue(), value))?.Name
        ?? value.ToString()!;
}
