using System.Text.RegularExpressions;

namespace PSMigration.PowerShell.Tests;

/// <summary>
/// The dependency rules of docs/ARCHITECTURE.md, read from src/: a folder (namespace) uses another when one of
/// its files names a type declared there that the file can see (a using, a parent namespace, or a qualified
/// name). The compiler already keeps assemblies in order; these keep the folders inside them in order.
/// </summary>
public sealed class SourceLayoutTests
{
    private static readonly Lazy<FolderGraph> Graph = new(() => FolderGraph.Read(TestPaths.InRepository("src")));

    [Fact]
    public void No_folder_depends_on_itself_through_others()
    {
        var cycles = Graph.Value.Cycles();
        Assert.True(cycles.Count == 0, "Folders that depend on each other: " + string.Join("; ", cycles.Select(c => "[" + string.Join(", ", c) + "]")));
    }

    [Fact]
    public void The_migration_flow_reaches_its_backends_only_through_the_factory()
    {
        foreach (var backend in new[] { "PSMigration.Qemu.QemuMigration", "PSMigration.Qemu.Libvirt" })
        {
            var used = Graph.Value.Uses("PSMigration.Qemu.Migration", backend);
            Assert.True(used.Count == 0, $"PSMigration.Qemu.Migration uses {backend}: {string.Join(", ", used)}");
        }
    }

    [Fact]
    public void The_engine_reads_no_inventory_and_no_policy()
    {
        string[] forbidden = ["MigrationInventory", "InventoryLoader", "InventoryCache", "EffectivePolicy", "PolicyResolver"];
        var used = Graph.Value.Folders.Where(f => f.StartsWith("PSMigration.Engine", StringComparison.Ordinal))
            .SelectMany(f => Graph.Value.TypesUsedBy(f).Where(forbidden.Contains).Select(t => $"{f} uses {t}"))
            .ToList();
        Assert.Empty(used);
    }

    [Fact]
    public void The_graph_sees_a_dependency_that_exists()
    {
        // Guards the reader itself: a graph that saw nothing would pass every rule above.
        Assert.Contains("MigrationFlow", Graph.Value.Uses("PSMigration.Qemu.QemuMigration", "PSMigration.Qemu.Migration"));
        Assert.Contains("MigrationInventory", Graph.Value.Uses("PSMigration.Qemu.Migration", "PSMigration.Core.Inventory"));
    }
}

/// <summary>Which folder uses which types of which other folder, from the source text.</summary>
internal sealed partial class FolderGraph
{
    private readonly Dictionary<string, Dictionary<string, SortedSet<string>>> uses = new(StringComparer.Ordinal);

    public IEnumerable<string> Folders => uses.Keys;

    public IReadOnlySet<string> Uses(string folder, string other) =>
        uses.TryGetValue(folder, out var targets) && targets.TryGetValue(other, out var types) ? types : new SortedSet<string>();

    public IEnumerable<string> TypesUsedBy(string folder) =>
        uses.TryGetValue(folder, out var targets) ? targets.Values.SelectMany(t => t) : [];

    public static FolderGraph Read(string sourceRoot)
    {
        var files = Directory.GetFiles(sourceRoot, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(f => (Code: StripComments(File.ReadAllText(f)), Path: f))
            .Select(f => (f.Code, Namespace: NamespaceDeclaration().Match(f.Code) is { Success: true } m ? m.Groups[1].Value : null))
            .Where(f => f.Namespace is not null)
            .ToList();

        var declaredIn = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal); // type name -> namespaces
        foreach (var (code, ns) in files)
            foreach (Match type in TypeDeclaration().Matches(code))
                (declaredIn.TryGetValue(type.Groups[1].Value, out var set) ? set : declaredIn[type.Groups[1].Value] = []).Add(ns!);

        var graph = new FolderGraph();
        foreach (var (code, ns) in files)
        {
            var visible = UsingDirective().Matches(code).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
            var parts = ns!.Split('.');
            for (var i = 1; i < parts.Length; i++) visible.Add(string.Join('.', parts[..i]));
            var body = UsingOrNamespaceLine().Replace(code, "");
            foreach (var word in Identifier().Matches(body).Select(m => m.Value).Distinct())
                foreach (var owner in declaredIn.GetValueOrDefault(word) ?? [])
                    if (owner != ns && visible.Contains(owner)) graph.Add(ns, owner, word);
            foreach (Match qualified in QualifiedName().Matches(body))
                if (declaredIn.GetValueOrDefault(qualified.Groups[2].Value)?.Contains(qualified.Groups[1].Value) == true && qualified.Groups[1].Value != ns)
                    graph.Add(ns, qualified.Groups[1].Value, qualified.Groups[2].Value);
        }
        return graph;
    }

    /// <summary>Each cycle as a path of folders (strongly connected components of more than one folder).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var found = new List<IReadOnlyList<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            foreach (var w in uses.GetValueOrDefault(v)?.Keys ?? Enumerable.Empty<string>())
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (stack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string popped;
            do component.Add(popped = stack.Pop()); while (popped != v);
            if (component.Count > 1) found.Add(component.Order(StringComparer.Ordinal).ToList());
        }
        foreach (var folder in uses.Keys.Order(StringComparer.Ordinal))
            if (!index.ContainsKey(folder)) Visit(folder);
        return found;
    }

    private void Add(string from, string to, string type)
    {
        if (!uses.TryGetValue(from, out var targets)) uses[from] = targets = new(StringComparer.Ordinal);
        if (!targets.TryGetValue(to, out var types)) targets[to] = types = new(StringComparer.Ordinal);
        types.Add(type);
    }

    private static string StripComments(string code) => BlockComment().Replace(LineComment().Replace(code, ""), "");

    [GeneratedRegex(@"^namespace ([\w.]+)", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"^(?:    )?(?:public |internal )?(?:sealed |static |abstract |readonly |partial |record )*(?:class|record|struct|interface|enum)(?: struct| class)? (\w+)", RegexOptions.Multiline)]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"^using (?:static )?(PSMigration[\w.]*);", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"^(?:using|namespace) .*$", RegexOptions.Multiline)]
    private static partial Regex UsingOrNamespaceLine();

    [GeneratedRegex(@"\b[A-Z]\w*\b")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"\b(PSMigration(?:\.[A-Z]\w*)+)\.([A-Z]\w*)\b")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"//.*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();
}
