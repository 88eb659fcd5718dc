using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Tests;

/// <summary>Policy inheritance (<see cref="PolicyResolver"/>) and the rules about combinations
/// (<see cref="PolicyRules"/>), as the loader applies them.</summary>
public class PolicyTests
{
    private static string ClusterYaml(string policy) => InventoryBuilder.TwoHosts().ClusterPolicy(policy).Yaml();

    // ---- rules at load time: cluster blocks --------------------------------------------------

    [Theory]
    [InlineData("{ parallel: Parallel, postcopy: true }", "Parallel")]
    [InlineData("{ parallel: Custom, connections: 4, postcopy: true }", "Custom")]
    [InlineData("{ postcopy: true, parallel: Parallel }", "Parallel")]
    public void PostcopyWithParallelOrCustom_IsAnError(string policy, string mode)
    {
        var text = ClusterYaml(policy);
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "postcopy: true"),
            $"cluster 'prod': postcopy: true cannot be combined with parallel: {mode}");
    }

    [Theory]
    [InlineData("{ parallel: Parallel, compression: xbzrle }", "Parallel")]
    [InlineData("{ parallel: Custom, connections: 4, compression: xbzrle }", "Custom")]
    public void XbzrleWithParallelOrCustom_IsAnError(string policy, string mode)
    {
        var text = ClusterYaml(policy);
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "compression: xbzrle"),
            $"cluster 'prod': compression: xbzrle works without parallel only, but parallel is {mode}");
    }

    [Theory]
    [InlineData("{ parallel: Auto, postcopy: true }")]
    [InlineData("{ parallel: Auto, compression: xbzrle }")]
    [InlineData("{ parallel: Disabled, postcopy: true, compression: xbzrle }")]
    [InlineData("{ parallel: Parallel, compression: zstd, postcopy: false }")]
    [InlineData("{ parallel: Custom, connections: 255 }")]
    [InlineData("{ parallel: Custom, connections: 2 }")]
    public void AllowedCombinations_LoadWithoutWarnings(string policy)
    {
        var inventory = InventoryLoader.Parse(ClusterYaml(policy), "inv.yaml");
        Assert.Empty(inventory.Warnings);
    }

    [Fact]
    public void CustomWithoutConnections_IsAnError()
    {
        var text = ClusterYaml("{ parallel: Custom }");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "parallel: Custom"), "cluster 'prod': parallel: Custom needs 'connections' (2 to 255)");
    }

    [Theory]
    [InlineData("1", "must be at least 2, not 1")]
    [InlineData("0", "must be at least 2, not 0")]
    [InlineData("256", "must be at most 255, not 256")]
    [InlineData("eight", "must be a whole number, not 'eight'")]
    public void ConnectionsOutOfRange_IsAnError(string connections, string fragment)
    {
        // One error, the range: the refused value is not also reported as missing ("Custom needs 'connections'").
        var text = ClusterYaml($"{{ parallel: Custom, connections: {connections} }}");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, $"connections: {connections}"), "'connections' of the migration policy of cluster 'prod'", fragment);
    }

    [Theory]
    [InlineData("maxConnections: 1", "must be at least 2, not 1")]
    [InlineData("maxConnections: 300", "must be at most 255, not 300")]
    [InlineData("maxDowntimeMs: 0", "must be at least 1, not 0")]
    [InlineData("bandwidthGbps: 0", "must be greater than zero")]
    [InlineData("maxConcurrentIncoming: 0", "'maxConcurrentIncoming' of the migration policy of cluster 'prod' must be at least 1, not 0")]
    [InlineData("maxConcurrentIncoming: -3", "must be at least 1, not -3")]
    [InlineData("maxConcurrentIncoming: two", "'maxConcurrentIncoming' of the migration policy of cluster 'prod' must be a whole number, not 'two'")]
    [InlineData("maxConcurrentIncoming: 1.5", "must be a whole number, not '1.5'")]
    [InlineData("postcopy: maybe", "must be true or false, not 'maybe'")]
    public void OtherPolicyValuesOutOfRange_AreErrors(string entry, string fragment)
    {
        var text = ClusterYaml($"{{ {entry} }}");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, entry), fragment);
    }

    [Theory]
    [InlineData("{ parallel: Auto, connections: 8 }", "Auto")]
    [InlineData("{ parallel: Disabled, connections: 8 }", "Disabled")]
    [InlineData("{ connections: 8 }", "Auto")]
    public void ConnectionsWithoutCustom_IsAWarning_AndLoads(string policy, string mode)
    {
        var text = ClusterYaml(policy);
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        var warning = Assert.Single(inventory.Warnings);
        Assert.Equal(ProblemSeverity.Warning, warning.Severity);
        Assert.Equal(new SourceLocation("inv.yaml", Yaml.ValuePos(text, "connections: 8").Line, Yaml.ValuePos(text, "connections: 8").Column), warning.Location);
        Assert.Equal($"cluster 'prod': connections: 8 is ignored because parallel is {mode} (it applies to Custom only)", warning.Message);
    }

    [Fact]
    public void ConnectionsOnAVmWithoutCustom_IsAWarningAtTheVm()
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: "{ connections: 6 }").Yaml();
        var warning = Assert.Single(InventoryLoader.Parse(text, "inv.yaml").Warnings);
        Assert.Equal(Yaml.ValuePos(text, "connections: 6"), (warning.Location.Line, warning.Location.Column));
        Assert.StartsWith("VM 'web01': connections: 6 is ignored because parallel is Auto", warning.Message);
    }

    [Fact]
    public void VmTurningParallelOff_IsNotWarnedAboutItsClustersConnections()
    {
        var inventory = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: Custom, connections: 8 }")
            .WithVm(migration: "{ parallel: Disabled }").Load();
        Assert.Empty(inventory.Warnings);
        Assert.Equal(8, inventory.VmPolicy("web01").Connections);
    }

    // ---- rules at load time: a VM's block combined with its cluster's ---------------------------

    [Fact]
    public void ClusterParallel_PlusVmPostcopy_IsAnErrorNamingTheVm()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: Parallel }").WithVm(migration: "{ postcopy: true }").Yaml();
        var problem = Yaml.AssertSingleError(text, Yaml.ValuePos(text, "postcopy: true"),
            "VM 'web01': postcopy: true cannot be combined with parallel: Parallel");
        Assert.Contains("(postcopy from VM 'web01', parallel from cluster 'prod')", problem.Message);
    }

    [Fact]
    public void ClusterPostcopy_PlusVmParallel_PointsAtTheVmsParallel()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ postcopy: true }").WithVm(migration: "{ parallel: Parallel }").Yaml();
        var problem = Yaml.AssertSingleError(text, Yaml.ValuePos(text, "parallel: Parallel"), "VM 'web01': postcopy: true cannot be combined");
        Assert.Contains("(postcopy from cluster 'prod', parallel from VM 'web01')", problem.Message);
    }

    [Fact]
    public void ClusterXbzrle_PlusVmCustom_IsAnErrorNamingTheVm()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ compression: xbzrle }")
            .WithVm(migration: "{ parallel: Custom, connections: 4 }").Yaml();
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "parallel: Custom"), "VM 'web01': compression: xbzrle works without parallel only");
    }

    [Fact]
    public void VmInheritingParallel_WithItsOwnPostcopy_IsAnError()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: Custom, connections: 4 }")
            .WithVm(migration: "{ parallel: Cluster, postcopy: true }").Yaml();
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "postcopy: true"), "VM 'web01': postcopy: true cannot be combined with parallel: Custom");
    }

    [Fact]
    public void VmCustomWithoutConnections_IsAnErrorAtTheVm()
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: "{ parallel: Custom }").Yaml();
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "parallel: Custom"), "VM 'web01': parallel: Custom needs 'connections'");
    }

    [Fact]
    public void VmTurningParallelOff_FixesTheClustersPostcopyForItself()
    {
        var inventory = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: Auto, postcopy: true }")
            .WithVm(migration: "{ parallel: Disabled }").Load();
        Assert.Empty(inventory.Warnings);
        Assert.True(inventory.VmPolicy("web01").Postcopy);
    }

    [Fact]
    public void ABadClusterPolicy_IsReportedOnce_NotOncePerVm()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: Parallel, postcopy: true }")
            .Vm("web02", "kvm01").Vm("web03", "kvm02").Yaml();
        var e = Yaml.LoadFails(text);
        Assert.Single(e.Problems);
    }

    // ---- where values come from ----------------------------------------------------------------

    [Fact]
    public void Sources_SayWhereEachValueCameFrom()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: Parallel, maxConnections: 8, transport: engine }")
            .WithVm(migration: "{ maxConnections: 4, parallel: Cluster }").Yaml();
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        var policy = inventory.VmPolicy("web01");

        Assert.Equal("VM", policy.Scope);
        Assert.Equal("web01", policy.Name);
        Assert.Equal("prod", policy.Cluster);
        Assert.Equal("inv.yaml", policy.InventoryPath);
        Assert.Equal(ParallelMode.Parallel, policy.Parallel);
        Assert.Equal(4, policy.MaxConnections);
        Assert.Equal(MigrationTransport.Engine, policy.Transport);
        Assert.False(policy.Postcopy);

        Assert.Equal("cluster 'prod'", policy.Sources[PolicyKeys.Parallel].Description); // parallel: Cluster inherits
        Assert.Equal("VM 'web01'", policy.Sources[PolicyKeys.MaxConnections].Description);
        Assert.Equal("cluster 'prod'", policy.Sources[PolicyKeys.Transport].Description);
        Assert.Equal("default", policy.Sources[PolicyKeys.Postcopy].Description);
        Assert.Equal("default", policy.Sources[PolicyKeys.MaxDowntimeMs].ToString());
        Assert.Equal(PolicyKeys.All.OrderBy(k => k), policy.Sources.Keys.OrderBy(k => k));

        var vmMax = Yaml.ValuePos(text, "maxConnections: 4");
        Assert.Equal(new SourceLocation("inv.yaml", vmMax.Line, vmMax.Column), policy.Sources[PolicyKeys.MaxConnections].Location);
        var clusterTransport = Yaml.ValuePos(text, "transport: engine");
        Assert.Equal(new SourceLocation("inv.yaml", clusterTransport.Line, clusterTransport.Column), policy.Sources[PolicyKeys.Transport].Location);
        Assert.Null(policy.Sources[PolicyKeys.Postcopy].Location);

        var cluster = inventory.ClusterPolicy("prod");
        Assert.Equal("Cluster", cluster.Scope);
        Assert.Equal(8, cluster.MaxConnections);
        Assert.Equal("cluster 'prod'", cluster.Sources[PolicyKeys.MaxConnections].Description);
        Assert.Equal("default", cluster.Sources[PolicyKeys.Compression].Description);
    }

    [Fact]
    public void VmWithoutABlock_InheritsItsCluster()
    {
        var policy = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: Disabled, maxDowntimeMs: 800 }").Load().VmPolicy("web01");
        Assert.Equal(ParallelMode.Disabled, policy.Parallel);
        Assert.Equal(800, policy.MaxDowntimeMs);
        Assert.Equal("cluster 'prod'", policy.Sources[PolicyKeys.Parallel].Description);
    }

    [Fact]
    public void OptionalValues_StayNullWhenNobodySetsThem()
    {
        var policy = InventoryBuilder.TwoHosts().Load().VmPolicy("web01");
        Assert.Null(policy.Connections);
        Assert.Null(policy.BandwidthGbps);
        Assert.Null(policy.MaxConcurrentIncoming);
        Assert.Equal("default", policy.Sources[PolicyKeys.Connections].Description);
        Assert.Equal("default", policy.Sources[PolicyKeys.BandwidthGbps].Description);
        Assert.Equal("default", policy.Sources[PolicyKeys.MaxConcurrentIncoming].Description);
    }

    [Fact]
    public void Defaults_AreThoseOfTheDesign()
    {
        var policy = PolicyResolver.ForVm("v", "c", null, null, null);
        Assert.Equal(ParallelMode.Auto, policy.Parallel);
        Assert.Equal(16, policy.MaxConnections);
        Assert.False(policy.Postcopy);
        Assert.Equal(CompressionMethod.None, policy.Compression);
        Assert.Equal(MigrationTransport.Direct, policy.Transport);
        Assert.Equal(StorageMode.Shared, policy.Storage);
        Assert.Equal(300, policy.MaxDowntimeMs);
        Assert.Null(policy.Connections);
        Assert.Null(policy.BandwidthGbps);
        Assert.Null(policy.MaxConcurrentIncoming); // no limit
        Assert.All(policy.Sources.Values, s => Assert.Same(PolicySource.Default, s));
        Assert.Empty(PolicyRules.Check(policy));
    }

    [Fact]
    public void PolicyValues_AreCaseInsensitive()
    {
        var policy = InventoryBuilder.TwoHosts().ClusterPolicy("{ parallel: parallel, compression: ZSTD, transport: Engine, storage: Copy }").Load().ClusterPolicy("prod");
        Assert.Equal(ParallelMode.Parallel, policy.Parallel);
        Assert.Equal(CompressionMethod.Zstd, policy.Compression);
        Assert.Equal(MigrationTransport.Engine, policy.Transport);
        Assert.Equal(StorageMode.Copy, policy.Storage);
    }

    // ---- storage -----------------------------------------------------------------------------------

    [Fact]
    public void Storage_Copy_OnACluster_IsReadWithItsLine_AndItsVmsInheritIt()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ storage: copy }").Yaml();
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        var at = Yaml.ValuePos(text, "storage: copy");

        var cluster = inventory.ClusterPolicy("prod");
        Assert.Equal(StorageMode.Copy, cluster.Storage);
        Assert.Equal(new PolicySource("cluster 'prod'", new SourceLocation("inv.yaml", at.Line, at.Column)), cluster.Sources[PolicyKeys.Storage]);
        Assert.Equal(StorageMode.Copy, inventory.Cluster("prod").Migration!.Storage);

        var vm = inventory.VmPolicy("web01");
        Assert.Equal(StorageMode.Copy, vm.Storage);
        Assert.Equal("cluster 'prod'", vm.Sources[PolicyKeys.Storage].Description);
        Assert.Empty(inventory.Warnings);
    }

    [Fact]
    public void Storage_OnAVm_OverridesItsCluster_ForThatVmOnly()
    {
        var inventory = InventoryBuilder.TwoHosts().ClusterPolicy("{ storage: copy }")
            .Vm("db01", "kvm01", migration: "{ storage: shared }").Load();

        Assert.Equal(StorageMode.Shared, inventory.VmPolicy("db01").Storage);
        Assert.Equal("VM 'db01'", inventory.VmPolicy("db01").Sources[PolicyKeys.Storage].Description);
        Assert.Equal(StorageMode.Copy, inventory.VmPolicy("web01").Storage);
        Assert.Equal(StorageMode.Copy, inventory.ClusterPolicy("prod").Storage);
    }

    [Fact]
    public void Storage_UnsetEverywhere_IsSharedByDefault()
    {
        var policy = InventoryBuilder.TwoHosts().Load().VmPolicy("web01");
        Assert.Equal(StorageMode.Shared, policy.Storage);
        Assert.Same(PolicySource.Default, policy.Sources[PolicyKeys.Storage]);
    }

    // ---- maxConcurrentIncoming -------------------------------------------------------------------

    [Fact]
    public void MaxConcurrentIncoming_OnACluster_IsReadWithItsLine_AndItsVmsInheritIt()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ maxConcurrentIncoming: 2 }").Yaml();
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        var at = Yaml.ValuePos(text, "maxConcurrentIncoming: 2");

        var cluster = inventory.ClusterPolicy("prod");
        Assert.Equal(2, cluster.MaxConcurrentIncoming);
        Assert.Equal(new PolicySource("cluster 'prod'", new SourceLocation("inv.yaml", at.Line, at.Column)), cluster.Sources[PolicyKeys.MaxConcurrentIncoming]);
        Assert.Equal(2, inventory.Cluster("prod").Migration!.MaxConcurrentIncoming);
        Assert.Equal("maxConcurrentIncoming: 2", inventory.Cluster("prod").Migration!.ToString());

        var vm = inventory.VmPolicy("web01");
        Assert.Equal(2, vm.MaxConcurrentIncoming);
        Assert.Equal(new PolicySource("cluster 'prod'", new SourceLocation("inv.yaml", at.Line, at.Column)), vm.Sources[PolicyKeys.MaxConcurrentIncoming]);
        Assert.Empty(inventory.Warnings);
    }

    [Fact]
    public void MaxConcurrentIncoming_OnAVm_IsAnError_ItBelongsToTheDestinationsCluster()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ maxConcurrentIncoming: 2 }").WithVm(migration: "{ maxConcurrentIncoming: 1 }").Yaml();
        var (line, column) = Yaml.ValuePos(text, "maxConcurrentIncoming: 1");

        var e = Yaml.LoadFails(text);

        Assert.Contains($"inv.yaml:{line}:{column}: maxConcurrentIncoming limits the migrations into a host, so it belongs to the host's cluster, not to VM 'web01'", e.Message);
        Assert.Single(e.Problems, p => p.Severity == ProblemSeverity.Error);
    }

    [Fact]
    public void MaxConcurrentIncoming_Refused_OnAVm_NamesFileLineAndColumn()
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: "{ maxConcurrentIncoming: 0 }").Yaml();
        var (line, column) = Yaml.ValuePos(text, "maxConcurrentIncoming: 0");

        var e = Yaml.LoadFails(text);

        Assert.Contains($"inv.yaml:{line}:{column}: 'maxConcurrentIncoming' of the migration policy of VM 'web01' must be at least 1, not 0", e.Message);
        Assert.Single(e.Problems, p => p.Severity == ProblemSeverity.Error);
    }

    // ---- convergence: autoConverge, timeoutAction, completionTimeoutPerGiB, progressTimeout --------

    [Fact]
    public void ConvergenceKeys_OnACluster_AreReadWithTheirLines_AndItsVmsInheritThem()
    {
        var text = ClusterYaml("{ autoConverge: true, timeoutAction: pause, completionTimeoutPerGiB: 30, progressTimeout: 90 }");
        var inventory = InventoryLoader.Parse(text, "inv.yaml");

        var cluster = inventory.ClusterPolicy("prod");
        Assert.True(cluster.AutoConverge);
        Assert.Equal(TimeoutAction.Pause, cluster.TimeoutAction);
        Assert.Equal(30, cluster.CompletionTimeoutPerGiB);
        Assert.Equal(90, cluster.ProgressTimeout);
        foreach (var entry in new[] { "autoConverge: true", "timeoutAction: pause", "completionTimeoutPerGiB: 30", "progressTimeout: 90" })
        {
            var key = entry[..entry.IndexOf(':')];
            var at = Yaml.ValuePos(text, entry);
            Assert.Equal(new PolicySource("cluster 'prod'", new SourceLocation("inv.yaml", at.Line, at.Column)), cluster.Sources[key]);
        }
        var block = inventory.Cluster("prod").Migration!;
        Assert.Equal((true, TimeoutAction.Pause, 30, 90), (block.AutoConverge, block.TimeoutAction, block.CompletionTimeoutPerGiB, block.ProgressTimeout));

        var vm = inventory.VmPolicy("web01");
        Assert.Equal((true, TimeoutAction.Pause, 30, 90), (vm.AutoConverge, vm.TimeoutAction, vm.CompletionTimeoutPerGiB, vm.ProgressTimeout));
        Assert.Equal("cluster 'prod'", vm.Sources[PolicyKeys.TimeoutAction].Description);
        Assert.Empty(inventory.Warnings);
    }

    [Fact]
    public void ConvergenceKeys_OnAVm_OverrideItsCluster_KeyByKey_WithTheirSources()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ autoConverge: true, timeoutAction: pause, progressTimeout: 90 }")
            .WithVm(migration: "{ autoConverge: false, timeoutAction: cancel, completionTimeoutPerGiB: 15 }")
            .Vm("db01", "kvm02").Yaml();
        var inventory = InventoryLoader.Parse(text, "inv.yaml");

        var vm = inventory.VmPolicy("web01");
        Assert.False(vm.AutoConverge);
        Assert.Equal(TimeoutAction.Cancel, vm.TimeoutAction);
        Assert.Equal(15, vm.CompletionTimeoutPerGiB);
        Assert.Equal(90, vm.ProgressTimeout); // not overridden: the cluster's
        var vmAction = Yaml.ValuePos(text, "timeoutAction: cancel");
        Assert.Equal(new PolicySource("VM 'web01'", new SourceLocation("inv.yaml", vmAction.Line, vmAction.Column)), vm.Sources[PolicyKeys.TimeoutAction]);
        Assert.Equal("VM 'web01'", vm.Sources[PolicyKeys.AutoConverge].Description);
        Assert.Equal("VM 'web01'", vm.Sources[PolicyKeys.CompletionTimeoutPerGiB].Description);
        Assert.Equal("cluster 'prod'", vm.Sources[PolicyKeys.ProgressTimeout].Description);

        var other = inventory.VmPolicy("db01"); // no block of its own
        Assert.True(other.AutoConverge);
        Assert.Equal(TimeoutAction.Pause, other.TimeoutAction);
        Assert.Null(other.CompletionTimeoutPerGiB);
        Assert.Equal("cluster 'prod'", other.Sources[PolicyKeys.AutoConverge].Description);
        Assert.Same(PolicySource.Default, other.Sources[PolicyKeys.CompletionTimeoutPerGiB]);
    }

    [Fact]
    public void ConvergenceKeys_UnsetEverywhere_AreTheDefaults()
    {
        var policy = InventoryBuilder.TwoHosts().Load().VmPolicy("web01");
        Assert.False(policy.AutoConverge);
        Assert.Equal(TimeoutAction.Cancel, policy.TimeoutAction);
        Assert.Null(policy.CompletionTimeoutPerGiB); // the default timeout
        Assert.Null(policy.ProgressTimeout); // only the timeout
        foreach (var key in new[] { PolicyKeys.AutoConverge, PolicyKeys.TimeoutAction, PolicyKeys.CompletionTimeoutPerGiB, PolicyKeys.ProgressTimeout })
            Assert.Same(PolicySource.Default, policy.Sources[key]);
    }

    [Theory]
    [InlineData("autoConverge: yes", "'autoConverge' of the migration policy of cluster 'prod' must be true or false, not 'yes'")]
    [InlineData("timeoutAction: abort", "'timeoutAction' of the migration policy of cluster 'prod' must be one of cancel, postcopy, pause, not 'abort'")]
    [InlineData("completionTimeoutPerGiB: 0", "'completionTimeoutPerGiB' of the migration policy of cluster 'prod' must be at least 1, not 0")]
    [InlineData("completionTimeoutPerGiB: 86401", "'completionTimeoutPerGiB' of the migration policy of cluster 'prod' must be at most 86400, not 86401")]
    [InlineData("completionTimeoutPerGiB: ten", "'completionTimeoutPerGiB' of the migration policy of cluster 'prod' must be a whole number, not 'ten'")]
    [InlineData("progressTimeout: -5", "'progressTimeout' of the migration policy of cluster 'prod' must be at least 1, not -5")]
    [InlineData("progressTimeout: 100000", "must be at most 86400, not 100000")]
    [InlineData("progressTimeout: 1.5", "'progressTimeout' of the migration policy of cluster 'prod' must be a whole number, not '1.5'")]
    public void ConvergenceValuesOutOfRange_AreErrorsAtTheirValue(string entry, string fragment)
    {
        var text = ClusterYaml($"{{ {entry} }}");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, entry), fragment);
    }

    [Fact]
    public void ConvergenceValueOutOfRange_OnAVm_NamesFileLineAndColumn()
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: "{ progressTimeout: 0 }").Yaml();
        var (line, column) = Yaml.ValuePos(text, "progressTimeout: 0");

        var e = Yaml.LoadFails(text);

        Assert.Contains($"inv.yaml:{line}:{column}: 'progressTimeout' of the migration policy of VM 'web01' must be at least 1, not 0", e.Message);
    }

    [Theory]
    [InlineData("pasue", "pause")]
    [InlineData("postcpy", "postcopy")]
    [InlineData("cancle", "cancel")]
    public void AMisspeltTimeoutAction_IsAnErrorWithADidYouMean(string written, string meant)
    {
        var text = ClusterYaml($"{{ postcopy: true, timeoutAction: {written} }}");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, $"timeoutAction: {written}"),
            $"must be one of cancel, postcopy, pause, not '{written}'; did you mean '{meant}'?");
    }

    [Fact]
    public void TimeoutActionValues_AreCaseInsensitive()
    {
        var policy = InventoryBuilder.TwoHosts().ClusterPolicy("{ timeoutAction: Pause, autoConverge: True }").Load().ClusterPolicy("prod");
        Assert.Equal(TimeoutAction.Pause, policy.TimeoutAction);
        Assert.True(policy.AutoConverge);
    }

    [Fact]
    public void TimeoutActionPostcopy_WithoutPostcopy_IsAnErrorNamingBothSources()
    {
        var text = ClusterYaml("{ timeoutAction: postcopy }");
        var problem = Yaml.AssertSingleError(text, Yaml.ValuePos(text, "timeoutAction: postcopy"),
            "cluster 'prod': timeoutAction: postcopy needs postcopy: true");
        Assert.Contains("(timeoutAction from cluster 'prod', postcopy from default)", problem.Message);
    }

    [Fact]
    public void VmTimeoutActionPostcopy_UnderAClusterWithoutPostcopy_PointsAtTheVm_AndNamesTheCluster()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ postcopy: false }").WithVm(migration: "{ timeoutAction: postcopy }").Yaml();
        var problem = Yaml.AssertSingleError(text, Yaml.ValuePos(text, "timeoutAction: postcopy"),
            "VM 'web01': timeoutAction: postcopy needs postcopy: true");
        Assert.Contains("(timeoutAction from VM 'web01', postcopy from cluster 'prod')", problem.Message);
    }

    [Fact]
    public void VmTurningPostcopyOff_UnderAClusterThatSwitches_PointsAtTheVmsPostcopy()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ postcopy: true, timeoutAction: postcopy }").WithVm(migration: "{ postcopy: false }").Yaml();
        var problem = Yaml.AssertSingleError(text, Yaml.ValuePos(text, "postcopy: false"), "VM 'web01': timeoutAction: postcopy needs postcopy: true");
        Assert.Contains("(timeoutAction from cluster 'prod', postcopy from VM 'web01')", problem.Message);
    }

    [Theory]
    [InlineData("{ postcopy: true, timeoutAction: postcopy }")]
    [InlineData("{ parallel: Auto, postcopy: true, timeoutAction: postcopy, autoConverge: true }")]
    [InlineData("{ parallel: Disabled, postcopy: true, timeoutAction: postcopy }")]
    [InlineData("{ parallel: Parallel, timeoutAction: pause, autoConverge: true }")]
    [InlineData("{ parallel: Custom, connections: 8, timeoutAction: cancel, progressTimeout: 30 }")]
    public void ConvergenceCombinations_ThatQemuRuns_LoadWithoutWarnings(string policy)
    {
        var inventory = InventoryLoader.Parse(ClusterYaml(policy), "inv.yaml");
        Assert.Empty(inventory.Warnings);
    }

    [Fact]
    public void TimeoutActionPostcopy_WithParallelCustom_IsTheMultifdError_Once()
    {
        // postcopy: true is there, but QEMU 7.2 runs post-copy without multifd only
        var text = ClusterYaml("{ parallel: Custom, connections: 4, postcopy: true, timeoutAction: postcopy }");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "postcopy: true"), "postcopy: true cannot be combined with parallel: Custom");
    }

    [Fact]
    public void ARefusedPostcopy_IsNotAlsoReportedAsMissingForTimeoutAction()
    {
        var text = ClusterYaml("{ postcopy: maybe, timeoutAction: postcopy }");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, "postcopy: maybe"), "must be true or false, not 'maybe'");
    }

    // ---- linkLossToleranceSeconds ------------------------------------------------------------------

    [Fact]
    public void LinkLossTolerance_UnsetEverywhere_Is30Seconds_FromTheDefault()
    {
        var inventory = InventoryBuilder.TwoHosts().Load();
        var vm = inventory.VmPolicy("web01");
        var cluster = inventory.ClusterPolicy("prod");

        Assert.Equal(30, vm.LinkLossToleranceSeconds);
        Assert.Equal(30, cluster.LinkLossToleranceSeconds);
        Assert.Same(PolicySource.Default, vm.Sources[PolicyKeys.LinkLossToleranceSeconds]);
        Assert.Same(PolicySource.Default, cluster.Sources[PolicyKeys.LinkLossToleranceSeconds]);
        Assert.Null(inventory.Cluster("prod").Migration?.LinkLossToleranceSeconds); // the default is not written anywhere
    }

    [Fact]
    public void LinkLossTolerance_OnACluster_IsReadWithItsLine_AndItsVmsInheritIt()
    {
        var text = ClusterYaml("{ linkLossToleranceSeconds: 120 }");
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        var at = Yaml.ValuePos(text, "linkLossToleranceSeconds: 120");
        var source = new PolicySource("cluster 'prod'", new SourceLocation("inv.yaml", at.Line, at.Column));

        var cluster = inventory.ClusterPolicy("prod");
        Assert.Equal(120, cluster.LinkLossToleranceSeconds);
        Assert.Equal(source, cluster.Sources[PolicyKeys.LinkLossToleranceSeconds]);
        Assert.Equal(120, inventory.Cluster("prod").Migration!.LinkLossToleranceSeconds);

        var vm = inventory.VmPolicy("web01");
        Assert.Equal(120, vm.LinkLossToleranceSeconds);
        Assert.Equal(source, vm.Sources[PolicyKeys.LinkLossToleranceSeconds]);
        Assert.Empty(inventory.Warnings);
    }

    [Fact]
    public void LinkLossTolerance_OnAVm_WinsOverItsCluster_ForThatVmOnly()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ linkLossToleranceSeconds: 120 }")
            .WithVm(migration: "{ linkLossToleranceSeconds: 5 }")
            .Vm("db01", "kvm02").Yaml();
        var inventory = InventoryLoader.Parse(text, "inv.yaml");

        var vm = inventory.VmPolicy("web01");
        Assert.Equal(5, vm.LinkLossToleranceSeconds);
        var at = Yaml.ValuePos(text, "linkLossToleranceSeconds: 5");
        Assert.Equal(new PolicySource("VM 'web01'", new SourceLocation("inv.yaml", at.Line, at.Column)), vm.Sources[PolicyKeys.LinkLossToleranceSeconds]);

        var other = inventory.VmPolicy("db01"); // no block of its own
        Assert.Equal(120, other.LinkLossToleranceSeconds);
        Assert.Equal("cluster 'prod'", other.Sources[PolicyKeys.LinkLossToleranceSeconds].Description);
        Assert.Equal(120, inventory.ClusterPolicy("prod").LinkLossToleranceSeconds);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3600)]
    public void LinkLossTolerance_AtItsBounds_Loads(int seconds)
    {
        var inventory = InventoryLoader.Parse(ClusterYaml($"{{ linkLossToleranceSeconds: {seconds} }}"), "inv.yaml");
        Assert.Equal(seconds, inventory.VmPolicy("web01").LinkLossToleranceSeconds);
        Assert.Empty(inventory.Warnings);
    }

    [Theory]
    [InlineData("linkLossToleranceSeconds: 0", "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be at least 1, not 0")]
    [InlineData("linkLossToleranceSeconds: -30", "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be at least 1, not -30")]
    [InlineData("linkLossToleranceSeconds: 3601", "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be at most 3600, not 3601")]
    [InlineData("linkLossToleranceSeconds: 2.5", "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be a whole number, not '2.5'")]
    [InlineData("linkLossToleranceSeconds: forever", "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be a whole number, not 'forever'")]
    public void LinkLossToleranceOutOfRange_IsAnErrorAtItsValue(string entry, string fragment)
    {
        var text = ClusterYaml($"{{ {entry} }}");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, entry), fragment);
    }

    [Fact]
    public void LinkLossToleranceOutOfRange_OnAVm_NamesFileLineAndColumn()
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: "{ linkLossToleranceSeconds: 7200 }").Yaml();
        var (line, column) = Yaml.ValuePos(text, "linkLossToleranceSeconds: 7200");

        var e = Yaml.LoadFails(text);

        Assert.Contains($"inv.yaml:{line}:{column}: 'linkLossToleranceSeconds' of the migration policy of VM 'web01' must be at most 3600, not 7200", e.Message);
        Assert.Single(e.Problems, p => p.Severity == ProblemSeverity.Error);
    }

    // ---- networks ------------------------------------------------------------------------------------

    /// <summary>TwoHosts (lan) plus mig and iscsi on both hosts, with <paramref name="policy"/> as prod's block.</summary>
    private static string NetworksYaml(string policy) =>
        InventoryBuilder.TwoHosts().Link("mig", "migration", 10).Link("iscsi", "storage", 10).ClusterPolicy(policy).Yaml();

    [Fact]
    public void Networks_UnsetEverywhere_IsNull_FromTheDefault()
    {
        var inventory = InventoryLoader.Parse(NetworksYaml("{ parallel: Auto }"), "inv.yaml");

        Assert.Null(inventory.VmPolicy("web01").Networks);
        Assert.Null(inventory.ClusterPolicy("prod").Networks);
        Assert.Same(PolicySource.Default, inventory.VmPolicy("web01").Sources[PolicyKeys.Networks]);
        Assert.Null(PolicyKeys.YamlValue(inventory.VmPolicy("web01").Values, PolicyKeys.Networks));
    }

    [Fact]
    public void Networks_OnACluster_AreReadInOrder_AsTheInventorySpellsThem_WithTheirLine_AndItsVmsInheritThem()
    {
        var text = NetworksYaml("{ networks: [MIG, lan, iscsi] }");
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        var at = Yaml.ValuePos(text, "networks: [MIG");
        var source = new PolicySource("cluster 'prod'", new SourceLocation("inv.yaml", at.Line, at.Column));

        var cluster = inventory.ClusterPolicy("prod");
        Assert.Equal(["mig", "lan", "iscsi"], cluster.Networks!); // names ignore case; stored as defined
        Assert.Equal(source, cluster.Sources[PolicyKeys.Networks]);
        Assert.Equal("[mig, lan, iscsi]", PolicyKeys.YamlValue(cluster.Values, PolicyKeys.Networks));
        Assert.Equal("mig; lan; iscsi", cluster.Networks!.ToString()); // Export-Csv and "$value" show the names

        var vm = inventory.VmPolicy("web01");
        Assert.Equal(["mig", "lan", "iscsi"], vm.Networks!);
        Assert.Equal(source, vm.Sources[PolicyKeys.Networks]);
        Assert.Empty(inventory.Warnings);
    }

    [Fact]
    public void Networks_AsABlockList_AreReadLikeAFlowList()
    {
        var text = NetworksYaml("\n      networks:\n        - iscsi\n        - mig");
        var inventory = InventoryLoader.Parse(text, "inv.yaml");

        Assert.Equal(["iscsi", "mig"], inventory.ClusterPolicy("prod").Networks!);
    }

    [Fact]
    public void Networks_OnAVm_ReplaceItsClustersList_ForThatVmOnly()
    {
        var text = InventoryBuilder.TwoHosts().Link("mig", "migration", 10).ClusterPolicy("{ networks: [mig, lan] }")
            .WithVm(migration: "{ networks: [lan] }")
            .Vm("db01", "kvm01").Yaml();
        var inventory = InventoryLoader.Parse(text, "inv.yaml");

        var vm = inventory.VmPolicy("web01");
        Assert.Equal(["lan"], vm.Networks!); // the whole list, not merged with the cluster's
        var at = Yaml.ValuePos(text, "networks: [lan]");
        Assert.Equal(new PolicySource("VM 'web01'", new SourceLocation("inv.yaml", at.Line, at.Column)), vm.Sources[PolicyKeys.Networks]);
        Assert.Equal(["mig", "lan"], inventory.VmPolicy("db01").Networks!);
        Assert.Equal("cluster 'prod'", inventory.VmPolicy("db01").Sources[PolicyKeys.Networks].Description);
    }

    [Theory]
    [InlineData("networks: []", "networks: []", "'networks' of the migration policy of cluster 'prod' must name at least one network, in the order to use them")]
    [InlineData("networks: mig", "networks: mig", "'networks' of the migration policy of cluster 'prod' must be a list")]
    [InlineData("networks: [mig, mgi]", "mgi]", "'networks' of the migration policy of cluster 'prod' names network 'mgi', which is not in networks (known: lan, mig, iscsi); did you mean 'mig'?")]
    [InlineData("networks: [mig, lan, MIG]", "MIG]", "'networks' of the migration policy of cluster 'prod' names network 'MIG' twice: list each network once")]
    [InlineData("networks: [mig, [lan]]", "[lan]", "each item of 'networks' of the migration policy of cluster 'prod' must be a text value")]
    public void BadNetworks_AreAnErrorAtTheValueOrItem(string entry, string at, string fragment)
    {
        var text = NetworksYaml($"{{ {entry} }}");
        var position = at == entry ? Yaml.ValuePos(text, entry) : Yaml.Pos(text, at);
        Yaml.AssertSingleError(text, position, fragment);
    }

    [Fact]
    public void Networks_InAnInventoryWithoutNetworks_SayThatNoneIsDefined()
    {
        var text = InventoryBuilder.Bare().ClusterPolicy("{ networks: [mig] }").Yaml();
        Yaml.AssertSingleError(text, Yaml.Pos(text, "mig]"),
            "'networks' of the migration policy of cluster 'prod' names network 'mig', which is not in networks (none is defined)");
    }

    [Fact]
    public void UnknownNetwork_OnAVm_NamesFileLineAndColumn_AndTheKnownOnes()
    {
        var text = InventoryBuilder.TwoHosts().Link("mig", "migration", 10).WithVm(migration: "{ networks: [lan, storage] }").Yaml();
        var (line, column) = Yaml.Pos(text, "storage]");

        var e = Yaml.LoadFails(text);

        Assert.Contains($"inv.yaml:{line}:{column}: 'networks' of the migration policy of VM 'web01' names network 'storage', " +
                        "which is not in networks (known: lan, mig)", e.Message);
        Assert.Single(e.Problems, p => p.Severity == ProblemSeverity.Error);
    }

    [Fact]
    public void A_network_whose_definition_is_broken_is_not_reported_again_by_the_networks_that_name_it()
    {
        var text = Yaml.ReplaceOnce(NetworksYaml("{ networks: [mig] }"), "cidr: 10.1.0.0/24", "cidr: 10.1.0.1/24");

        var e = Yaml.LoadFails(text);

        Assert.DoesNotContain(e.Problems, p => p.Message.Contains("'networks'", StringComparison.Ordinal));
    }

    // ---- stripe --------------------------------------------------------------------------------------

    [Fact]
    public void Stripe_UnsetEverywhere_IsFalse_FromTheDefault()
    {
        var inventory = InventoryBuilder.TwoHosts().Load();
        var vm = inventory.VmPolicy("web01");
        var cluster = inventory.ClusterPolicy("prod");

        Assert.False(vm.Stripe);
        Assert.False(cluster.Stripe);
        Assert.Same(PolicySource.Default, vm.Sources[PolicyKeys.Stripe]);
        Assert.Same(PolicySource.Default, cluster.Sources[PolicyKeys.Stripe]);
        Assert.Null(inventory.Cluster("prod").Migration?.Stripe); // the default is not written anywhere
    }

    [Fact]
    public void Stripe_OnACluster_IsReadWithItsLine_AndItsVmsInheritIt()
    {
        var text = ClusterYaml("{ networks: [lan], stripe: true }");
        var inventory = InventoryLoader.Parse(text, "inv.yaml");
        var at = Yaml.ValuePos(text, "stripe: true");
        var source = new PolicySource("cluster 'prod'", new SourceLocation("inv.yaml", at.Line, at.Column));

        var cluster = inventory.ClusterPolicy("prod");
        Assert.True(cluster.Stripe);
        Assert.Equal(source, cluster.Sources[PolicyKeys.Stripe]);
        Assert.True(inventory.Cluster("prod").Migration!.Stripe);
        Assert.Equal("true", PolicyKeys.YamlValue(cluster.Values, PolicyKeys.Stripe));

        var vm = inventory.VmPolicy("web01");
        Assert.True(vm.Stripe);
        Assert.Equal(source, vm.Sources[PolicyKeys.Stripe]);
        Assert.Empty(inventory.Warnings);
    }

    [Fact]
    public void Stripe_OnAVm_WinsOverItsCluster_ForThatVmOnly()
    {
        var text = InventoryBuilder.TwoHosts().ClusterPolicy("{ stripe: True }")
            .WithVm(migration: "{ stripe: false }")
            .Vm("db01", "kvm02").Yaml();
        var inventory = InventoryLoader.Parse(text, "inv.yaml");

        var vm = inventory.VmPolicy("web01");
        Assert.False(vm.Stripe);
        var at = Yaml.ValuePos(text, "stripe: false");
        Assert.Equal(new PolicySource("VM 'web01'", new SourceLocation("inv.yaml", at.Line, at.Column)), vm.Sources[PolicyKeys.Stripe]);

        var other = inventory.VmPolicy("db01"); // no block of its own
        Assert.True(other.Stripe); // values ignore case, as autoConverge's
        Assert.Equal("cluster 'prod'", other.Sources[PolicyKeys.Stripe].Description);
        Assert.True(inventory.ClusterPolicy("prod").Stripe);
    }

    [Theory]
    [InlineData("stripe: maybe", "'stripe' of the migration policy of cluster 'prod' must be true or false, not 'maybe'")]
    [InlineData("stripe: yes", "'stripe' of the migration policy of cluster 'prod' must be true or false, not 'yes'")]
    [InlineData("stripe: 1", "'stripe' of the migration policy of cluster 'prod' must be true or false, not '1'")]
    [InlineData("stripe: [lan]", "'stripe' of the migration policy of cluster 'prod' must be true or false")]
    public void BadStripe_IsAnErrorAtItsValue(string entry, string fragment)
    {
        var text = ClusterYaml($"{{ {entry} }}");
        Yaml.AssertSingleError(text, Yaml.ValuePos(text, entry), fragment);
    }

    [Fact]
    public void BadStripe_OnAVm_NamesFileLineAndColumn()
    {
        var text = InventoryBuilder.TwoHosts().WithVm(migration: "{ stripe: maybe }").Yaml();
        var (line, column) = Yaml.ValuePos(text, "stripe: maybe");

        var e = Yaml.LoadFails(text);

        Assert.Contains($"inv.yaml:{line}:{column}: 'stripe' of the migration policy of VM 'web01' must be true or false, not 'maybe'", e.Message);
        Assert.Single(e.Problems, p => p.Severity == ProblemSeverity.Error);
    }

    // ---- PolicyRules directly --------------------------------------------------------------------

    [Fact]
    public void Rules_OnAResolvedPolicy_NameTheKeyAndSubject()
    {
        var violations = PolicyRules.Check(PolicyResolver.ForCluster("c1",
            new PolicyBlock { Parallel = ParallelMode.Custom, Postcopy = true, Compression = CompressionMethod.Xbzrle }, null));
        Assert.Equal(3, violations.Count);
        Assert.All(violations, v => Assert.Equal(ProblemSeverity.Error, v.Severity));
        Assert.All(violations, v => Assert.StartsWith("cluster 'c1': ", v.Message));
        Assert.Contains(violations, v => v.Message.Contains("parallel: Custom needs 'connections'"));
        Assert.Contains(violations, v => v.Message.Contains("postcopy: true cannot be combined with parallel: Custom"));
        Assert.Contains(violations, v => v.Message.Contains("xbzrle works without parallel only"));
    }

    [Fact]
    public void Rules_VmLevelViolation_NamesTheVm()
    {
        var policy = PolicyResolver.ForVm("web01", "prod",
            new PolicyBlock { Parallel = ParallelMode.Parallel }, new PolicyBlock { Postcopy = true }, null);
        var violation = Assert.Single(PolicyRules.Check(policy));
        Assert.StartsWith("VM 'web01': postcopy: true cannot be combined with parallel: Parallel", violation.Message);
    }
}
