using System.Text;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;
using YamlDotNet.Core;

namespace PSMigration.Core.Inventory;

/// <summary>How a front-end names the inventory to use: its parameter, and the environment variable as its
/// users write it (<c>$env:PSMIGRATION_INVENTORY</c> in PowerShell, <c>$PSMIGRATION_INVENTORY</c> in a shell).</summary>
public sealed record InventoryArgument(string Parameter, string Variable)
{
    public static InventoryArgument Cmdlet { get; } = new("-InventoryPath", "$env:" + InventoryLoader.PathVariable);
    public static InventoryArgument Cli { get; } = new("--inventory", "$" + InventoryLoader.PathVariable);
}

/// <summary>Loads and validates an inventory file. Either every check passes, or an
/// <see cref="InventoryException"/> lists every problem found, each with file:line:column.</summary>
public static class InventoryLoader
{
    /// <summary>The variable <c>-InventoryPath</c> and <c>--inventory</c> fall back to.</summary>
    public const string PathVariable = "PSMIGRATION_INVENTORY";

    /// <summary>The name the embedded sample inventory reports in messages.</summary>
    public const string SampleName = "sample-inventory.yaml";

    public static MigrationInventory Load(string path)
    {
        var file = InventoryFile.Read(path);
        return Parse(file.Text, file.Path);
    }

    /// <summary>The sample inventory shipped inside the module (the one <c>psmig demo</c> plans on).</summary>
    public static MigrationInventory LoadSample() => Parse(SampleText(), SampleName);

    public static string SampleText()
    {
        using var stream = typeof(InventoryLoader).Assembly.GetManifestResourceStream("PSMigration.Core.SampleInventory.yaml")!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>The file a command should use: its parameter, else the variable <see cref="PathVariable"/>.</summary>
    /// <param name="argument">How the command's front-end spells the parameter and the variable, for the message.</param>
    public static string ResolvePath(string? given, InventoryArgument argument) =>
        FindPath(given) ?? throw new MigrationException("InventoryPathMissing", FailureKind.InvalidInput,
            $"No inventory given: pass {argument.Parameter} or set {argument.Variable}", argument.Parameter);

    /// <summary>The parameter, else the variable <see cref="PathVariable"/>; null when neither names a file
    /// (Tab completion then offers nothing instead of failing).</summary>
    public static string? FindPath(string? given)
    {
        if (!string.IsNullOrWhiteSpace(given)) return given;
        var fromEnvironment = Environment.GetEnvironmentVariable(PathVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment) ? null : fromEnvironment;
    }

    public static MigrationInventory Parse(string text, string path)
    {
        var sink = new ProblemSink(path);
        var root = ParseYaml(text, sink);
        if (root is null) throw new InventoryException(path, sink.Sorted());

        var reader = new InventoryReader(sink, path);
        reader.Read(root);
        CheckPolicies(reader, sink);
        if (sink.HasErrors) throw new InventoryException(path, sink.Sorted());

        var warnings = sink.Sorted().Where(p => p.Severity == ProblemSeverity.Warning).ToList();
        return new MigrationInventory(path, text, reader.Networks, reader.Clusters, reader.Hosts, reader.Vms, warnings);
    }

    private static YamlValue? ParseYaml(string text, ProblemSink sink)
    {
        IReadOnlyList<YamlValue> documents;
        try
        {
            documents = YamlTree.Parse(text, sink);
        }
        catch (YamlException e)
        {
            sink.Error(e.Start, $"not valid YAML: {e.Message}");
            return null;
        }
        if (documents.Count == 0)
        {
            sink.Error(new SourceLocation(sink.File, 1, 1), "the inventory is empty; it needs at least 'networks' and 'hosts'");
            return null;
        }
        if (documents.Count > 1)
            sink.Error(documents[1].Start, "the inventory must be one YAML document; found more than one");
        return documents[0];
    }

    /// <summary>Checks the rules about combinations on each cluster's policy and on each VM that
    /// overrides its cluster; a VM without its own block is covered by its cluster's check.</summary>
    private static void CheckPolicies(InventoryReader reader, ProblemSink sink)
    {
        var clusters = reader.Clusters.ToDictionary(c => c.Name);
        var hostClusters = reader.Hosts.ToDictionary(h => h.Name, h => h.Cluster);
        foreach (var cluster in reader.Clusters)
            Report(PolicyResolver.ForCluster(cluster.Name, cluster.Migration, sink.File), cluster.Location, sink);

        foreach (var vm in reader.Vms.Where(v => v.Migration is not null))
        {
            var cluster = hostClusters.GetValueOrDefault(vm.Host);
            var clusterBlock = cluster is not null && clusters.TryGetValue(cluster, out var c) ? c.Migration : null;
            Report(PolicyResolver.ForVm(vm.Name, cluster, clusterBlock, vm.Migration, sink.File), vm.Location, sink);
        }
    }

    private static void Report(EffectivePolicy policy, SourceLocation fallback, ProblemSink sink)
    {
        foreach (var violation in PolicyRules.Check(policy))
        {
            var at = violation.Location ?? fallback;
            if (violation.Severity == ProblemSeverity.Error) sink.Error(at, violation.Message);
            else sink.Warning(at, violation.Message);
        }
    }
}
