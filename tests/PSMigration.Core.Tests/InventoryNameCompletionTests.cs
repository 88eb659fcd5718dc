using PSMigration.Core.Inventory;

namespace PSMigration.Core.Tests;

/// <summary>Tab completion of inventory names (the cmdlets' completers call this), against the sample inventory.</summary>
public sealed class InventoryNameCompletionTests
{
    private static readonly Lazy<MigrationInventory> Sample = new(InventoryLoader.LoadSample);

    /// <summary>The sample as a file, for the completions that read one.</summary>
    internal static readonly Lazy<string> SamplePath = new(() =>
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("psmig-completion-").FullName, "inventory.yaml");
        File.WriteAllText(path, InventoryLoader.SampleText());
        return path;
    });

    private static IReadOnlyList<NameCompletion> Complete(MigrationInventory inventory, string kind, string? word) =>
        InventoryNameCompletion.Complete(inventory, Enum.Parse<InventoryNameKind>(kind), word);

    internal static IReadOnlyList<NameCompletion> CompleteFromFile(string? inventoryPath, string currentDirectory, string kind, string? word) =>
        InventoryNameCompletion.Complete(inventoryPath, currentDirectory, Enum.Parse<InventoryNameKind>(kind), word);

    internal static List<string> Texts(IReadOnlyList<NameCompletion> results) => results.Select(r => r.CompletionText).ToList();

    private static MigrationInventory Parse(string yaml) => InventoryLoader.Parse(yaml, "test.yaml");

    [Fact]
    public void AnEmptyWordOffersEveryNameOfTheKindSorted()
    {
        Assert.Equal(["kvm01", "kvm02", "kvm03"], Texts(Complete(Sample.Value, "Host", "")));
        Assert.Equal(["prod"], Texts(Complete(Sample.Value, "Cluster", null)));
        Assert.Equal(["corosync", "iscsi-a", "iscsi-b", "lan", "mig"], Texts(Complete(Sample.Value, "Network", "")));
        var vms = Texts(Complete(Sample.Value, "Vm", ""));
        Assert.Contains("web01", vms);
        Assert.Contains("db01", vms);
        Assert.Equal(vms.Order(StringComparer.OrdinalIgnoreCase), vms);
    }

    [Fact]
    public void TheWordIsACaseInsensitivePrefix()
    {
        Assert.Equal(["web01"], Texts(Complete(Sample.Value, "Vm", "WE")));
        Assert.Equal(["iscsi-a", "iscsi-b"], Texts(Complete(Sample.Value, "Network", "iSCSI")));
        Assert.Empty(Complete(Sample.Value, "Host", "web"));
    }

    [Fact]
    public void WildcardsInTheWordMatchAnywhere()
    {
        Assert.Equal(["iscsi-b"], Texts(Complete(Sample.Value, "Network", "*-b")));
        Assert.Equal(["kvm01", "kvm02", "kvm03"], Texts(Complete(Sample.Value, "Host", "kvm0?")));
        Assert.Equal(["kvm01", "kvm02", "kvm03"], Texts(Complete(Sample.Value, "Host", "*")));
    }

    [Fact]
    public void TheToolTipSaysWhatTheNameIs()
    {
        var web = Assert.Single(Complete(Sample.Value, "Vm", "web01"));
        Assert.Equal("web01", web.ListItemText);
        Assert.Contains("kvm01", web.ToolTip);
        Assert.Contains("198.51.100.0/24", Assert.Single(Complete(Sample.Value, "Network", "mig")).ToolTip);
    }

    [Fact]
    public void NamesPowerShellWouldMisreadAreQuoted()
    {
        var inventory = Parse("""
            networks:
              - { name: lan, cidr: 192.0.2.0/24, role: management }
            clusters:
              - { name: "web 01" }
              - { name: "it's" }
              - { name: "-dash" }
              - { name: "$cost" }
              - { name: plain-name.1 }
            hosts:
              - name: kvm01
                cpuThreads: 8
                interfaces: [{ name: eth0, addresses: [192.0.2.11/24], speedGbps: 1 }]
            """);
        // VM names are plain file names (VmNames); clusters, hosts and networks may be named anything
        var byName = Complete(inventory, "Cluster", "").ToDictionary(c => c.ListItemText, c => c.CompletionText);
        Assert.Equal("'web 01'", byName["web 01"]);
        Assert.Equal("'it''s'", byName["it's"]);
        Assert.Equal("'-dash'", byName["-dash"]);
        Assert.Equal("'$cost'", byName["$cost"]);
        Assert.Equal("plain-name.1", byName["plain-name.1"]);
    }

    [Fact]
    public void AQuoteTheUserOpenedIsKeptAndIgnoredForMatching()
    {
        Assert.Equal(["'web01'"], Texts(Complete(Sample.Value, "Vm", "'we")));
        Assert.Equal(["\"web01\""], Texts(Complete(Sample.Value, "Vm", "\"web01\"")));
    }

    [Fact]
    public void TheInventoryPathIsResolvedAgainstTheCurrentLocation()
    {
        var samples = Path.GetDirectoryName(SamplePath.Value)!;
        Assert.Equal(["kvm01", "kvm02", "kvm03"], Texts(CompleteFromFile("inventory.yaml", samples, "Host", "")));
        Assert.Equal(["prod"], Texts(CompleteFromFile(SamplePath.Value, Path.GetTempPath(), "Cluster", "p")));
    }

    [Fact]
    public void AnInventoryThatCannotBeReadCompletesNothingWithoutThrowing()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-inventory-{Guid.NewGuid():N}.yaml");
        Assert.Empty(CompleteFromFile(missing, Path.GetTempPath(), "Vm", ""));

        var broken = Path.Combine(Path.GetTempPath(), $"broken-inventory-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(broken, "hosts: [ this is: not valid");
        try
        {
            Assert.Empty(CompleteFromFile(broken, Path.GetTempPath(), "Vm", ""));
        }
        finally
        {
            File.Delete(broken);
        }
    }
}

/// <summary>$env:PSMIGRATION_INVENTORY is process-wide: these tests change it, so they run apart from the others that read it.</summary>
[Collection(nameof(InventoryVariableCollection))]
public sealed class InventoryNameCompletionVariableTests
{
    private static List<string> CompleteFromVariable(string? variable, string kind)
    {
        var before = Environment.GetEnvironmentVariable("PSMIGRATION_INVENTORY");
        Environment.SetEnvironmentVariable("PSMIGRATION_INVENTORY", variable);
        try
        {
            return InventoryNameCompletionTests.Texts(InventoryNameCompletionTests.CompleteFromFile(null, Path.GetTempPath(), kind, ""));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PSMIGRATION_INVENTORY", before);
        }
    }

    [Fact]
    public void WithoutInventoryPathTheVariableNamesTheInventory() =>
        Assert.Equal(["prod"], CompleteFromVariable(InventoryNameCompletionTests.SamplePath.Value, "Cluster"));

    [Fact]
    public void WithNeitherThereIsNothingToComplete() =>
        Assert.Empty(CompleteFromVariable(null, "Host"));
}

[CollectionDefinition(nameof(InventoryVariableCollection), DisableParallelization = true)]
public sealed class InventoryVariableCollection;
