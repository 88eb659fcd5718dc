using System.Reflection;
using System.Runtime.InteropServices;

namespace PSMigration.PowerShell.Tests;

/// <summary>What Migration.dll needs, as PowerShell 7.4 resolves it: from the module folder, the .NET runtime,
/// and PowerShell's own System.Management.Automation (never the folder's).</summary>
internal static class ModuleDependencies
{
    /// <returns>Referenced assemblies found in neither the folder nor the runtime, and every name met on the way.</returns>
    public static (IReadOnlyList<string> Missing, IReadOnlySet<string> Seen) Walk(MetadataLoadContext context, string folder)
    {
        var runtime = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var missing = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var queue = new Queue<Assembly>([context.LoadFromAssemblyPath(Path.Combine(folder, "Migration.dll"))]);
        while (queue.Count > 0)
        {
            foreach (var reference in queue.Dequeue().GetReferencedAssemblies())
            {
                var name = reference.Name!;
                if (!seen.Add(name) || runtime.Contains(name) || name == "System.Management.Automation") continue;
                var file = Path.Combine(folder, name + ".dll");
                if (File.Exists(file)) queue.Enqueue(context.LoadFromAssemblyPath(file));
                else missing.Add(name);
            }
        }
        return (missing, seen);
    }
}
