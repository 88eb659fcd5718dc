using System.Reflection;
using System.Runtime.Loader;

namespace PSMigration.PowerShell.Tests;

/// <summary>
/// The compiled Migration.dll loaded to run, in its own load context over the module's folder, for
/// code of it that does not touch PowerShell (there is no PowerShell runtime here): this test project
/// does not reference the module, so calls go through reflection.
/// </summary>
internal sealed class ModuleCode
{
    private static readonly Lazy<ModuleCode> Shared = new(() => new ModuleCode(), LazyThreadSafetyMode.ExecutionAndPublication);

    public static ModuleCode Instance => Shared.Value;

    private ModuleCode()
    {
        var context = new ModuleLoadContext(TestPaths.MigrationDll);
        Migration = context.LoadFromAssemblyPath(TestPaths.MigrationDll);
        Core = context.LoadFromAssemblyName(new AssemblyName("PSMigration.Core"));
    }

    public Assembly Migration { get; }
    public Assembly Core { get; }

    public Type MigrationType(string fullName) => Migration.GetType(fullName, throwOnError: true)!;

    public Type CoreType(string fullName) => Core.GetType(fullName, throwOnError: true)!;

    /// <summary>Calls the public static method with these parameter types, rethrowing what it throws.</summary>
    public static object? Call(Type type, string method, Type[] parameterTypes, params object?[] arguments)
    {
        var target = type.GetMethod(method, BindingFlags.Public | BindingFlags.Static, parameterTypes)
                     ?? throw new Xunit.Sdk.XunitException($"{type} has no static {method}({string.Join(", ", parameterTypes.Select(t => t.Name))})");
        try
        {
            return target.Invoke(null, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    public static object? Get(object instance, string property) =>
        instance.GetType().GetProperty(property)?.GetValue(instance) ?? throw new Xunit.Sdk.XunitException($"{instance.GetType()} has no {property}");

    /// <summary>Resolves the module's dependencies (PSMigration.Core, YamlDotNet, ...) from its deps.json.</summary>
    private sealed class ModuleLoadContext(string mainAssembly) : AssemblyLoadContext("Migration module", isCollectible: false)
    {
        private readonly AssemblyDependencyResolver resolver = new(mainAssembly);

        protected override Assembly? Load(AssemblyName name) =>
            resolver.ResolveAssemblyToPath(name) is { } path ? LoadFromAssemblyPath(path) : null;
    }
}
