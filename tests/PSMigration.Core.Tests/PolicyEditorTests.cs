using System.Text;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Policies;

namespace PSMigration.Core.Tests;

/// <summary>
/// <see cref="PolicyEditor.Apply"/> on a real file: only the targeted block changes, byte for byte,
/// whatever the file's comments, quoting, line endings or BOM; a rejected change leaves the file
/// as it was; the file's mode and symbolic links survive.
/// </summary>
public sealed class PolicyEditorTests : IDisposable
{
    /// <summary>A hand-written inventory: comments on their own lines and after values, blank lines,
    /// quoted values, flow and block mappings, non-ASCII text.</summary>
    private const string Rich = """
        # Production inventory: edited by hand and by Set-MigrationPolicy.
        # Comments are documentation; the editor must keep them. Ünïcödé too — really.

        networks:
          - name: lan            # the LAN every hostname resolves to
            cidr: "192.0.2.0/24"
            role: management
          - name: mig
            cidr: '198.51.100.0/24'
            role: migration
            priority: 1          # preferred

        clusters:
          - name: prod
            # the production policy
            migration:
              parallel: Auto          # let the planner decide
              maxConnections: 8       # keep threads for the guests
              postcopy: false

              transport: "direct"
              compression: none       # multifd only
          - name: lab
          - name: test
            migration: { parallel: Custom, connections: 4 }   # fixed for benchmarks

        hosts:
          - name: kvm01
            cluster: prod
            cpuThreads: 32
            interfaces:
              - name: eth0
                addresses: [192.0.2.11/24]    # LAN
                speedGbps: 1
              - name: ens3f0
                addresses: ["198.51.100.11/24"]
                speedGbps: 10
                mtu: 9000
          - name: kvm02
            cluster: prod
            cpuThreads: 32
            interfaces:
              - name: eth0
                addresses: [192.0.2.12/24]
                speedGbps: 1
              - name: ens3f0
                addresses: [198.51.100.12/24]
                speedGbps: 10
                mtu: 9000
          - name: lab01
            cluster: lab
            cpuThreads: 8
            interfaces:
              - { name: eth0, addresses: [192.0.2.21/24], speedGbps: 1 }
          - name: test01
            cluster: test
            cpuThreads: 8
            interfaces:
              - { name: eth0, addresses: [192.0.2.31/24], speedGbps: 1 }

        vms:
          - name: web01
            host: kvm01
            vcpus: 8
            memoryMiB: 32768     # 32 GiB — über-sized
            qemu:
              qmp: /run/psmig/web01.qmp
              args: ["-m", "32768"]
          - name: db01
            host: kvm01
            vcpus: 16
            memoryMiB: 65536
            migration:
              postcopy: true     # big and busy: finish on the destination
          - name: t01
            host: test01
            vcpus: 2
            memoryMiB: 2048
            migration: { maxDowntimeMs: 500 }
          - name: idle01
            host: lab01
            vcpus: 1
            memoryMiB: 512
            migration:        # decide later
        # end of inventory

        """;

    public enum Variant { Lf, Crlf, Bom, BomCrlf }

    public static TheoryData<Variant> Variants => new() { Variant.Lf, Variant.Crlf, Variant.Bom, Variant.BomCrlf };

    private readonly string directory = Path.Combine(Path.GetTempPath(), $"psmig-editor-{Guid.NewGuid():N}");

    public PolicyEditorTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static bool HasCrlf(Variant v) => v is Variant.Crlf or Variant.BomCrlf;
    private static bool HasBom(Variant v) => v is Variant.Bom or Variant.BomCrlf;

    /// <summary>Text as it stands in a file of this variant (line endings only; no BOM).</summary>
    private static string Lines(string text, Variant v) => HasCrlf(v) ? text.Replace("\n", "\r\n") : text;

    private static byte[] Encode(string text, Variant v)
    {
        var body = Encoding.UTF8.GetBytes(Lines(text, v));
        return HasBom(v) ? [0xEF, 0xBB, 0xBF, .. body] : body;
    }

    private string Write(Variant v = Variant.Lf, string text = Rich, string name = "inventory.yaml")
    {
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, Encode(text, v));
        return path;
    }

    private static PolicyEditResult Apply(string path, PolicyTarget target, PolicyBlock set, string[]? clear = null, bool write = true) =>
        PolicyEditor.Apply(path, target, new PolicyChange(set, clear ?? []), write);

    /// <summary>The file after the edit is the file before with each (old, new) pair swapped, where
    /// each old text occurs exactly once: every other byte is unchanged.</summary>
    private static void AssertSpliced(byte[] before, byte[] after, Variant v, params (string Old, string New)[] edits)
    {
        var expected = before;
        foreach (var (old, replacement) in edits)
        {
            var o = Encoding.UTF8.GetBytes(Lines(old, v));
            var at = IndexOf(expected, o);
            Assert.True(at >= 0, $"test setup: '{old}' is not in the file");
            Assert.True(IndexOf(expected, o, at + 1) < 0, $"test setup: '{old}' occurs more than once");
            expected = [.. expected[..at], .. Encoding.UTF8.GetBytes(Lines(replacement, v)), .. expected[(at + o.Length)..]];
        }
        Assert.Equal(Show(expected), Show(after));
        Assert.True(expected.AsSpan().SequenceEqual(after), "the bytes differ (BOM or encoding)");
    }

    private static string Show(byte[] bytes) =>
        (bytes.AsSpan().StartsWith((byte[])[0xEF, 0xBB, 0xBF]) ? "<BOM>" : "") +
        Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF').Replace("\r", "<CR>");

    private static int IndexOf(byte[] haystack, byte[] needle, int from = 0)
    {
        var i = haystack.AsSpan(from).IndexOf(needle);
        return i < 0 ? -1 : i + from;
    }

    /// <summary>No temporary file is left: only the inventory and the lock file its edits share.</summary>
    private void AssertNoOtherFiles(string path) =>
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(Path.GetDirectoryName(path)!).Select(f => Path.GetFileName(f)).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)));

    [Fact]
    public void TheRichInventoryIsValid()
    {
        var inventory = InventoryLoader.Load(Write());
        Assert.Empty(inventory.Warnings);
        Assert.Equal(ParallelMode.Auto, inventory.ClusterPolicy("prod").Parallel);
        Assert.Null(inventory.Vm("idle01").Migration);
    }

    // ---- changing values --------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Variants))]
    public void ReplacingAValue_KeepsItsTrailingComment_AndEveryOtherByte(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Parallel = ParallelMode.Disabled });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      parallel: Auto          # let the planner decide", "      parallel: Disabled          # let the planner decide"));
        Assert.True(result.Written);
        Assert.True(result.Changed);
        Assert.Equal(["parallel: Auto (cluster 'prod') -> Disabled (cluster 'prod')"], result.Changes);
        Assert.Equal(ParallelMode.Disabled, result.Policy.Parallel);
        Assert.Equal(ParallelMode.Disabled, InventoryLoader.Load(path).ClusterPolicy("prod").Parallel);
        AssertNoOtherFiles(path);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void AddingAKey_ToABlockMapping_GoesAfterItsLastEntry(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Encryption = EncryptionMode.None });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      compression: none       # multifd only\n",
             "      compression: none       # multifd only\n      encryption: none\n"));
        Assert.Equal(EncryptionMode.None, result.Policy.Encryption);
        Assert.Equal("cluster 'prod'", result.Policy.Sources[PolicyKeys.Encryption].Description);
        Assert.Equal(["encryption: tls (default) -> none (cluster 'prod')"], result.Changes);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Storage_IsWrittenInPlace_InheritedByTheVms_AndClearedBackToTheSameBytes(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Storage = StorageMode.Copy });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      compression: none       # multifd only\n",
             "      compression: none       # multifd only\n      storage: copy\n"));
        Assert.Equal(StorageMode.Copy, result.Policy.Storage);
        Assert.Equal(["storage: shared (default) -> copy (cluster 'prod')"], result.Changes);
        var reloaded = InventoryLoader.Load(path);
        Assert.Equal(StorageMode.Copy, reloaded.Cluster("prod").Migration!.Storage);
        Assert.Equal(StorageMode.Copy, reloaded.VmPolicy("db01").Storage); // db01's own block says nothing of storage
        Assert.Equal("cluster 'prod'", reloaded.VmPolicy("db01").Sources[PolicyKeys.Storage].Description);

        var cleared = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock(), [PolicyKeys.Storage]);

        Assert.Equal(StorageMode.Shared, cleared.Policy.Storage);
        Assert.Equal(["storage: copy (cluster 'prod') -> shared (default)"], cleared.Changes);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Storage_OnAVm_OverridesItsClusterInItsOwnBlock()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForVm("t01"), new PolicyBlock { Storage = StorageMode.Copy });

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf,
            ("{ maxDowntimeMs: 500 }", "{ maxDowntimeMs: 500, storage: copy }"));
        Assert.Equal("VM 't01'", result.Policy.Sources[PolicyKeys.Storage].Description);
        Assert.Equal(StorageMode.Shared, InventoryLoader.Load(path).ClusterPolicy("test").Storage);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void MaxConcurrentIncoming_IsWrittenInPlace_InheritedByTheVms_AndClearedBackToTheSameBytes(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { MaxConcurrentIncoming = 2 });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      compression: none       # multifd only\n",
             "      compression: none       # multifd only\n      maxConcurrentIncoming: 2\n"));
        Assert.Equal(2, result.Policy.MaxConcurrentIncoming);
        Assert.Equal(["maxConcurrentIncoming: (none) (default) -> 2 (cluster 'prod')"], result.Changes);
        var reloaded = InventoryLoader.Load(path);
        Assert.Equal(2, reloaded.Cluster("prod").Migration!.MaxConcurrentIncoming);
        Assert.Equal(2, reloaded.VmPolicy("db01").MaxConcurrentIncoming); // db01's own block says nothing of it
        Assert.Equal("cluster 'prod'", reloaded.VmPolicy("db01").Sources[PolicyKeys.MaxConcurrentIncoming].Description);

        var changed = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { MaxConcurrentIncoming = 3 });
        Assert.Equal(["maxConcurrentIncoming: 2 (cluster 'prod') -> 3 (cluster 'prod')"], changed.Changes);

        var cleared = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock(), [PolicyKeys.MaxConcurrentIncoming]);

        Assert.Null(cleared.Policy.MaxConcurrentIncoming);
        Assert.Equal(["maxConcurrentIncoming: 3 (cluster 'prod') -> (none) (default)"], cleared.Changes);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void MaxConcurrentIncoming_OnAVm_IsRefused_AndTheFileStaysAsItWas()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        var e = Assert.ThrowsAny<MigrationException>(() => Apply(path, PolicyTarget.ForVm("t01"), new PolicyBlock { MaxConcurrentIncoming = 1 }));

        Assert.Contains("maxConcurrentIncoming limits the migrations into a host, so it belongs to the host's cluster, not to VM 't01'", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        AssertNoOtherFiles(path);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void ConvergenceKeys_AreWrittenInPlace_InheritedByTheVms_AndClearedBackToTheSameBytes(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"),
            new PolicyBlock { AutoConverge = true, TimeoutAction = TimeoutAction.Pause, CompletionTimeoutPerGiB = 30, ProgressTimeout = 90 });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      compression: none       # multifd only\n",
             "      compression: none       # multifd only\n      autoConverge: true\n      timeoutAction: pause\n      completionTimeoutPerGiB: 30\n      progressTimeout: 90\n"));
        Assert.Equal(
            ["autoConverge: false (default) -> true (cluster 'prod')", "timeoutAction: cancel (default) -> pause (cluster 'prod')",
             "completionTimeoutPerGiB: (none) (default) -> 30 (cluster 'prod')", "progressTimeout: (none) (default) -> 90 (cluster 'prod')"],
            result.Changes);
        Assert.Equal((true, TimeoutAction.Pause, 30, 90), (result.Policy.AutoConverge, result.Policy.TimeoutAction, result.Policy.CompletionTimeoutPerGiB, result.Policy.ProgressTimeout));
        var reloaded = InventoryLoader.Load(path).VmPolicy("db01"); // db01's own block says nothing of them
        Assert.Equal((true, TimeoutAction.Pause, 30, 90), (reloaded.AutoConverge, reloaded.TimeoutAction, reloaded.CompletionTimeoutPerGiB, reloaded.ProgressTimeout));
        Assert.Equal("cluster 'prod'", reloaded.Sources[PolicyKeys.ProgressTimeout].Description);

        var changed = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { AutoConverge = false, CompletionTimeoutPerGiB = 45 });
        Assert.Equal(["autoConverge: true (cluster 'prod') -> false (cluster 'prod')", "completionTimeoutPerGiB: 30 (cluster 'prod') -> 45 (cluster 'prod')"], changed.Changes);

        var cleared = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock(),
            [PolicyKeys.AutoConverge, PolicyKeys.TimeoutAction, PolicyKeys.CompletionTimeoutPerGiB, PolicyKeys.ProgressTimeout]);

        Assert.Equal((false, TimeoutAction.Cancel, null, null), (cleared.Policy.AutoConverge, cleared.Policy.TimeoutAction, cleared.Policy.CompletionTimeoutPerGiB, cleared.Policy.ProgressTimeout));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void LinkLossTolerance_IsWrittenInPlace_AVmsOwnWinsOverItsClusters_AndClearingRestoresTheBytes(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var cluster = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { LinkLossToleranceSeconds = 120 });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      compression: none       # multifd only\n", "      compression: none       # multifd only\n      linkLossToleranceSeconds: 120\n"));
        Assert.Equal(["linkLossToleranceSeconds: 30 (default) -> 120 (cluster 'prod')"], cluster.Changes);
        Assert.Equal(120, cluster.Policy.LinkLossToleranceSeconds);

        var vm = Apply(path, PolicyTarget.ForVm("db01"), new PolicyBlock { LinkLossToleranceSeconds = 10 });

        Assert.Equal(["linkLossToleranceSeconds: 120 (cluster 'prod') -> 10 (VM 'db01')"], vm.Changes);
        var reloaded = InventoryLoader.Load(path);
        Assert.Equal(10, reloaded.VmPolicy("db01").LinkLossToleranceSeconds);
        Assert.Equal("VM 'db01'", reloaded.VmPolicy("db01").Sources[PolicyKeys.LinkLossToleranceSeconds].Description);
        Assert.Equal(120, reloaded.VmPolicy("web01").LinkLossToleranceSeconds); // web01 has no block: prod's
        Assert.Equal(30, reloaded.VmPolicy("t01").LinkLossToleranceSeconds);    // cluster test says nothing: the default

        Apply(path, PolicyTarget.ForVm("db01"), new PolicyBlock(), [PolicyKeys.LinkLossToleranceSeconds]);
        var cleared = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock(), [PolicyKeys.LinkLossToleranceSeconds]);

        Assert.Equal(["linkLossToleranceSeconds: 120 (cluster 'prod') -> 30 (default)"], cleared.Changes);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Stripe_IsWrittenInPlace_AVmsOwnWinsOverItsClusters_AndClearingRestoresTheBytes(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var cluster = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Stripe = true });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      compression: none       # multifd only\n", "      compression: none       # multifd only\n      stripe: true\n"));
        Assert.Equal(["stripe: false (default) -> true (cluster 'prod')"], cluster.Changes);
        Assert.True(cluster.Policy.Stripe);

        var vm = Apply(path, PolicyTarget.ForVm("db01"), new PolicyBlock { Stripe = false });

        Assert.Equal(["stripe: true (cluster 'prod') -> false (VM 'db01')"], vm.Changes);
        var reloaded = InventoryLoader.Load(path);
        Assert.False(reloaded.VmPolicy("db01").Stripe);
        Assert.Equal("VM 'db01'", reloaded.VmPolicy("db01").Sources[PolicyKeys.Stripe].Description);
        Assert.True(reloaded.VmPolicy("web01").Stripe); // web01 has no block: prod's
        Assert.False(reloaded.VmPolicy("t01").Stripe);  // cluster test says nothing: the default

        Apply(path, PolicyTarget.ForVm("db01"), new PolicyBlock(), [PolicyKeys.Stripe]);
        var cleared = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock(), [PolicyKeys.Stripe]);

        Assert.Equal(["stripe: true (cluster 'prod') -> false (default)"], cleared.Changes);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Networks_AreWrittenInPlace_AVmsListReplacesItsClusters_AndClearingRestoresTheBytes(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var cluster = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Networks = ["MIG", "lan"] });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      compression: none       # multifd only\n", "      compression: none       # multifd only\n      networks: [mig, lan]\n"));
        Assert.Equal(["networks: (none) (default) -> [mig, lan] (cluster 'prod')"], cluster.Changes);
        Assert.Equal(["mig", "lan"], cluster.Policy.Networks!);

        var vm = Apply(path, PolicyTarget.ForVm("db01"), new PolicyBlock { Networks = ["lan"] });

        Assert.Equal(["networks: [mig, lan] (cluster 'prod') -> [lan] (VM 'db01')"], vm.Changes);
        var reloaded = InventoryLoader.Load(path);
        Assert.Equal(["lan"], reloaded.VmPolicy("db01").Networks!);
        Assert.Equal("VM 'db01'", reloaded.VmPolicy("db01").Sources[PolicyKeys.Networks].Description);
        Assert.Equal(["mig", "lan"], reloaded.VmPolicy("web01").Networks!); // web01 has no block: prod's
        Assert.Null(reloaded.VmPolicy("t01").Networks);                      // cluster test says nothing: the planner chooses

        Apply(path, PolicyTarget.ForVm("db01"), new PolicyBlock(), [PolicyKeys.Networks]);
        var cleared = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock(), [PolicyKeys.Networks]);

        Assert.Equal(["networks: [mig, lan] (cluster 'prod') -> (none) (default)"], cleared.Changes);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Networks_InAFlowBlock_AndInAnEmptyOne_AreWrittenOnTheirLine()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        Apply(path, PolicyTarget.ForCluster("test"), new PolicyBlock { Networks = ["lan"] });
        Apply(path, PolicyTarget.ForVm("idle01"), new PolicyBlock { Networks = ["mig", "lan"] });

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf,
            ("    migration: { parallel: Custom, connections: 4 }   # fixed", "    migration: { parallel: Custom, connections: 4, networks: [lan] }   # fixed"),
            ("    migration:        # decide later", "    migration: { networks: [mig, lan] }        # decide later"));
        Assert.Equal(["mig", "lan"], InventoryLoader.Load(path).VmPolicy("idle01").Networks!);
    }

    /// <summary>prod's block with networks written by hand as "- item" lines, with comments.</summary>
    private static readonly string RichWithBlockList = Rich.Replace(
        "      compression: none       # multifd only\n",
        "      compression: none       # multifd only\n      networks:   # in order\n        - mig\n        # then the LAN\n        - lan\n",
        StringComparison.Ordinal);

    [Theory]
    [MemberData(nameof(Variants))]
    public void Networks_WrittenAsABlockList_BecomeOneLine_KeepingTheKeysComment(Variant v)
    {
        var path = Write(v, RichWithBlockList);
        var before = File.ReadAllBytes(path);
        Assert.Equal(["mig", "lan"], InventoryLoader.Load(path).ClusterPolicy("prod").Networks!);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Networks = ["lan", "mig"], MaxConnections = 4 });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      maxConnections: 8       # keep", "      maxConnections: 4       # keep"),
            ("      networks:   # in order\n        - mig\n        # then the LAN\n        - lan\n", "      networks: [lan, mig]   # in order\n"));
        Assert.Equal(["lan", "mig"], result.Policy.Networks!);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Clearing_networks_written_as_a_block_list_removes_all_its_lines_and_nothing_after_them(Variant v)
    {
        var path = Write(v, RichWithBlockList);
        var before = File.ReadAllBytes(path);

        Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock(), [PolicyKeys.Networks]);

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("      networks:   # in order\n        - mig\n        # then the LAN\n        - lan\n", ""));
        Assert.Null(InventoryLoader.Load(path).ClusterPolicy("prod").Networks);
    }

    [Fact]
    public void A_block_whose_last_key_is_a_block_list_is_removed_whole_when_it_is_cleared()
    {
        var text = Rich.Replace("    migration:\n      postcopy: true     # big and busy: finish on the destination\n",
            "    migration:\n      networks:\n        - lan\n        - mig\n", StringComparison.Ordinal);
        Assert.NotEqual(Rich, text);
        var path = Write(text: text);

        Apply(path, PolicyTarget.ForVm("db01"), new PolicyBlock(), [PolicyKeys.Networks]);

        var after = File.ReadAllText(path);
        Assert.Equal(text.Replace("    migration:\n      networks:\n        - lan\n        - mig\n", "", StringComparison.Ordinal), after);
        Assert.Null(InventoryLoader.Load(path).Vm("db01").Migration);
    }

    [Theory]
    [InlineData(new[] { "mig", "lan" }, "[mig, lan]")]
    [InlineData(new[] { "iscsi-a", "v10.net_2/x" }, "[iscsi-a, v10.net_2/x]")]
    [InlineData(new[] { "a,b", "it's", "#x", "-x" }, "['a,b', 'it''s', '#x', '-x']")]
    public void Network_names_are_written_plain_where_YAML_reads_them_back_as_they_are_and_quoted_elsewhere(string[] names, string yaml) =>
        Assert.Equal(yaml, PSMigration.Core.Yaml.YamlText.FlowSequence(names));

    [Fact]
    public void TimeoutActionPostcopy_OnAVmWithPostcopy_IsWrittenInItsBlock()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForVm("db01"), new PolicyBlock { TimeoutAction = TimeoutAction.Postcopy });

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf,
            ("      postcopy: true     # big and busy: finish on the destination\n",
             "      postcopy: true     # big and busy: finish on the destination\n      timeoutAction: postcopy\n"));
        Assert.Equal(TimeoutAction.Postcopy, result.Policy.TimeoutAction);
        Assert.Equal("VM 'db01'", result.Policy.Sources[PolicyKeys.TimeoutAction].Description);
        Assert.Equal(TimeoutAction.Cancel, InventoryLoader.Load(path).ClusterPolicy("prod").TimeoutAction);
    }

    [Fact]
    public void ConvergenceKeys_InAFlowMapping()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        Apply(path, PolicyTarget.ForVm("t01"), new PolicyBlock { AutoConverge = true, ProgressTimeout = 45 });

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf,
            ("{ maxDowntimeMs: 500 }", "{ maxDowntimeMs: 500, autoConverge: true, progressTimeout: 45 }"));
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void AddingAKey_ToAFlowMapping(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("test"), new PolicyBlock { MaxDowntimeMs = 200 });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("{ parallel: Custom, connections: 4 }   # fixed", "{ parallel: Custom, connections: 4, maxDowntimeMs: 200 }   # fixed"));
        Assert.Equal(200, result.Policy.MaxDowntimeMs);
    }

    [Fact]
    public void ReplacingAValue_InAFlowMapping()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("test"), new PolicyBlock { Connections = 6 });

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf,
            ("{ parallel: Custom, connections: 4 }", "{ parallel: Custom, connections: 6 }"));
        Assert.Equal(6, result.Policy.Connections);
        Assert.Equal(6, InventoryLoader.Load(path).VmPolicy("t01").Connections); // t01 inherits it
    }

    [Fact]
    public void ReplacingAQuotedValue_ChangesOnlyThatValue()
    {
        var path = Write();
        var before = Encoding.UTF8.GetString(File.ReadAllBytes(path));

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Transport = MigrationTransport.Engine });

        var after = Encoding.UTF8.GetString(File.ReadAllBytes(path));
        Assert.Contains(after, new[]
        {
            before.Replace("transport: \"direct\"", "transport: engine"),
            before.Replace("transport: \"direct\"", "transport: \"engine\""),
        });
        Assert.Equal(MigrationTransport.Engine, result.Policy.Transport);
    }

    [Fact]
    public void SettingSeveralKeys_ReplacesAndAddsInOneWrite()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"),
            new PolicyBlock { MaxConnections = 12, BandwidthGbps = 7.5, MaxDowntimeMs = 250 });

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf,
            ("      maxConnections: 8       #", "      maxConnections: 12       #"),
            ("      compression: none       # multifd only\n",
             "      compression: none       # multifd only\n      maxDowntimeMs: 250\n      bandwidthGbps: 7.5\n"));
        Assert.Equal(12, result.Policy.MaxConnections);
        Assert.Equal(7.5, result.Policy.BandwidthGbps);
        Assert.Equal(250, result.Policy.MaxDowntimeMs);
        Assert.Equal(3, result.Changes.Count);
    }

    // ---- creating a block ---------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Variants))]
    public void CreatingABlock_OnAVmThatHasNone(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForVm("web01"),
            new PolicyBlock { Parallel = ParallelMode.Disabled, MaxDowntimeMs = 200 });

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("    memoryMiB: 32768     # 32 GiB — über-sized\n",
             "    memoryMiB: 32768     # 32 GiB — über-sized\n    migration:\n      parallel: Disabled\n      maxDowntimeMs: 200\n"));
        Assert.Equal(ParallelMode.Disabled, result.Policy.Parallel);
        Assert.Equal("VM 'web01'", result.Policy.Sources[PolicyKeys.Parallel].Description);
        Assert.Equal("cluster 'prod'", result.Policy.Sources[PolicyKeys.MaxConnections].Description);
        var reloaded = InventoryLoader.Load(path).Vm("web01");
        Assert.Equal("/run/psmig/web01.qmp", reloaded.Qemu!.Qmp); // the qemu block is still the VM's
        Assert.Equal(200, reloaded.Migration!.MaxDowntimeMs);
    }

    [Fact]
    public void CreatingABlock_OnAClusterThatHasNone()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("lab"),
            new PolicyBlock { Parallel = ParallelMode.Parallel, MaxConnections = 4 });

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf,
            ("  - name: lab\n", "  - name: lab\n    migration:\n      parallel: Parallel\n      maxConnections: 4\n"));
        Assert.Equal(ParallelMode.Parallel, result.Policy.Parallel);
        Assert.Equal(4, InventoryLoader.Load(path).ClusterPolicy("lab").MaxConnections);
    }

    [Fact]
    public void FillingAnEmptyMigrationEntry_KeepsItsComment()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForVm("idle01"), new PolicyBlock { Parallel = ParallelMode.Disabled });

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf,
            ("    migration:        # decide later\n", "    migration: { parallel: Disabled }        # decide later\n"));
        Assert.Equal(ParallelMode.Disabled, result.Policy.Parallel);
    }

    private const string FlowVm = "  - { name: flow01, host: lab01, vcpus: 1, memoryMiB: 256 }\n";

    /// <summary>Asserts that only the line holding <paramref name="marker"/> changed.</summary>
    private static string ChangedLine(string before, string after, string marker)
    {
        var a = before.Split('\n');
        var b = after.Split('\n');
        Assert.Equal(a.Length, b.Length);
        var changed = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToList();
        Assert.Equal([Array.FindIndex(a, l => l.Contains(marker, StringComparison.Ordinal))], changed);
        return b[changed[0]];
    }

    [Fact]
    public void CreatingABlock_OnAFlowStyleVm_ChangesOnlyItsLine()
    {
        var text = Yaml.ReplaceOnce(Rich, "# end of inventory\n", FlowVm + "# end of inventory\n");
        var path = Write(text: text);

        var result = Apply(path, PolicyTarget.ForVm("flow01"), new PolicyBlock { Parallel = ParallelMode.Disabled });

        var line = ChangedLine(text, File.ReadAllText(path), "name: flow01");
        Assert.Contains("migration: { parallel: Disabled }", line);
        Assert.Equal(ParallelMode.Disabled, result.Policy.Parallel);
        Assert.Equal(ParallelMode.Disabled, InventoryLoader.Load(path).Vm("flow01").Migration!.Parallel);
    }

    [Fact]
    public void ClearingTheLastKey_OfAFlowStyleVm_EitherWorksOrFailsCleanly()
    {
        var text = Yaml.ReplaceOnce(Rich, "# end of inventory\n",
            FlowVm.Replace("memoryMiB: 256 }", "memoryMiB: 256, migration: { maxDowntimeMs: 100 } }") + "# end of inventory\n");
        var path = Write(text: text);
        var before = File.ReadAllBytes(path);

        try
        {
            var result = Apply(path, PolicyTarget.ForVm("flow01"), new PolicyBlock(), [PolicyKeys.MaxDowntimeMs]);
            var line = ChangedLine(text, File.ReadAllText(path), "name: flow01");
            Assert.DoesNotContain("maxDowntimeMs", line);
            Assert.Equal(300, result.Policy.MaxDowntimeMs);
        }
        catch (MigrationException e)
        {
            // An edit the editor cannot make is a user-facing failure, not a crash, and writes nothing.
            Assert.Equal(FailureKind.InvalidInput, e.Kind);
            Assert.Equal(before, File.ReadAllBytes(path));
        }
    }

    // ---- clearing keys ---------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Variants))]
    public void ClearingAKey_RemovesItsLineOnly(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock(), [PolicyKeys.MaxConnections]);

        AssertSpliced(before, File.ReadAllBytes(path), v, ("      maxConnections: 8       # keep threads for the guests\n", ""));
        Assert.Equal(16, result.Policy.MaxConnections);
        Assert.Equal("default", result.Policy.Sources[PolicyKeys.MaxConnections].Description);
        Assert.Equal(["maxConnections: 8 (cluster 'prod') -> 16 (default)"], result.Changes);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void ClearingTheLastKey_RemovesTheWholeMigrationEntry(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForVm("db01"), new PolicyBlock(), [PolicyKeys.Postcopy]);

        AssertSpliced(before, File.ReadAllBytes(path), v,
            ("    migration:\n      postcopy: true     # big and busy: finish on the destination\n", ""));
        Assert.False(result.Policy.Postcopy);
        Assert.Equal("cluster 'prod'", result.Policy.Sources[PolicyKeys.Postcopy].Description);
        Assert.Null(InventoryLoader.Load(path).Vm("db01").Migration);
    }

    [Fact]
    public void ClearingTheLastKey_OfAFlowBlock_RemovesTheWholeEntry()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForVm("t01"), new PolicyBlock(), [PolicyKeys.MaxDowntimeMs]);

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf, ("    migration: { maxDowntimeMs: 500 }\n", ""));
        Assert.Equal(300, result.Policy.MaxDowntimeMs);
    }

    [Fact]
    public void ClearingAndSetting_InOneChange()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Compression = CompressionMethod.Zstd }, [PolicyKeys.Postcopy]);

        AssertSpliced(before, File.ReadAllBytes(path), Variant.Lf,
            ("      postcopy: false\n", ""),
            ("      compression: none       #", "      compression: zstd       #"));
    }

    [Fact]
    public void ClearingAKeyThatIsNotSet_ChangesNothing()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock(), [PolicyKeys.BandwidthGbps]);

        Assert.False(result.Written);
        Assert.Empty(result.Changes);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    // ---- WhatIf and no-ops -------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Variants))]
    public void WhatIf_LeavesTheFileAlone_ButReportsTheChange(Variant v)
    {
        var path = Write(v);
        var before = File.ReadAllBytes(path);
        var stamp = File.GetLastWriteTimeUtc(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Parallel = ParallelMode.Disabled }, write: false);

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
        AssertNoOtherFiles(path);
        Assert.False(result.Written);
        Assert.True(result.Changed);
        Assert.Equal(["parallel: Auto (cluster 'prod') -> Disabled (cluster 'prod')"], result.Changes);
        Assert.Equal(ParallelMode.Disabled, result.Policy.Parallel);
        var line = Yaml.Pos(Rich, "parallel: Auto").Line;
        Assert.Equal(
            [$"-{line,5}:       parallel: Auto          # let the planner decide", $"+{line,5}:       parallel: Disabled          # let the planner decide"],
            result.Diff);
    }

    [Fact]
    public void WhatIf_DiffOfANewBlock_ShowsOnlyAddedLines()
    {
        var path = Write();
        var result = Apply(path, PolicyTarget.ForCluster("lab"), new PolicyBlock { Parallel = ParallelMode.Disabled }, write: false);
        var line = Yaml.Pos(Rich, "  - name: lab\n").Line;
        Assert.Equal([$"+{line + 1,5}:     migration:", $"+{line + 2,5}:       parallel: Disabled"], result.Diff);
    }

    [Fact]
    public void SettingTheCurrentValue_WritesNothing()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);
        var stamp = File.GetLastWriteTimeUtc(path);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Parallel = ParallelMode.Auto, MaxConnections = 8 });

        Assert.False(result.Written);
        Assert.False(result.Changed);
        Assert.Empty(result.Changes);
        Assert.Empty(result.Diff);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
        Assert.Equal(ParallelMode.Auto, result.Policy.Parallel);
    }

    [Fact]
    public void NewWarnings_AreReported()
    {
        var path = Write();
        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Connections = 8 });
        Assert.True(result.Written);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("connections: 8 is ignored because parallel is Auto", warning);
    }

    // ---- rejected changes ----------------------------------------------------------------------

    public static TheoryData<string, PolicyScope, string, PolicyBlock, string[], string> Rejections => new()
    {
        { "postcopy with Parallel", PolicyScope.Cluster, "prod", new PolicyBlock { Parallel = ParallelMode.Parallel, Postcopy = true }, [], "postcopy: true cannot be combined with parallel: Parallel" },
        { "postcopy on a Custom cluster", PolicyScope.Cluster, "test", new PolicyBlock { Postcopy = true }, [], "cluster 'test': postcopy: true cannot be combined with parallel: Custom" },
        { "connections above 255", PolicyScope.Cluster, "test", new PolicyBlock { Connections = 300 }, [], "must be at most 255, not 300" },
        { "connections above 255 in a block", PolicyScope.Cluster, "prod", new PolicyBlock { Connections = 256 }, [], "must be at most 255, not 256" },
        { "VM override breaks the rules", PolicyScope.VM, "db01", new PolicyBlock { Parallel = ParallelMode.Custom, Connections = 4 }, [], "VM 'db01': postcopy: true cannot be combined with parallel: Custom" },
        { "new block breaks the rules", PolicyScope.VM, "web01", new PolicyBlock { Parallel = ParallelMode.Parallel, Compression = CompressionMethod.Xbzrle }, [], "VM 'web01': compression: xbzrle works without parallel only" },
        { "connections below 2", PolicyScope.Cluster, "test", new PolicyBlock { Connections = 1 }, [], "must be at least 2, not 1" },
        { "maxConcurrentIncoming below 1", PolicyScope.Cluster, "prod", new PolicyBlock { MaxConcurrentIncoming = 0 }, [], "'maxConcurrentIncoming' of the migration policy of cluster 'prod' must be at least 1, not 0" },
        { "parallel Cluster on a cluster", PolicyScope.Cluster, "prod", new PolicyBlock { Parallel = ParallelMode.Cluster }, [], "for VMs only" },
        { "cluster change breaks a VM override", PolicyScope.Cluster, "prod", new PolicyBlock { Parallel = ParallelMode.Parallel }, [], "VM 'db01': postcopy: true cannot be combined with parallel: Parallel" },
        { "Custom left without connections", PolicyScope.Cluster, "test", new PolicyBlock(), [PolicyKeys.Connections], "parallel: Custom needs 'connections'" },
        { "VM xbzrle under a Custom cluster", PolicyScope.VM, "t01", new PolicyBlock { Compression = CompressionMethod.Xbzrle }, [], "VM 't01': compression: xbzrle works without parallel only" },
        { "timeoutAction postcopy without postcopy", PolicyScope.Cluster, "prod", new PolicyBlock { TimeoutAction = TimeoutAction.Postcopy }, [],
          "cluster 'prod': timeoutAction: postcopy needs postcopy: true (QEMU switches only a migration that was started with post-copy allowed); set postcopy: true, or use timeoutAction: pause or cancel (timeoutAction from cluster 'prod', postcopy from cluster 'prod')" },
        { "timeoutAction postcopy on a VM whose cluster says postcopy false", PolicyScope.VM, "web01", new PolicyBlock { TimeoutAction = TimeoutAction.Postcopy }, [], "VM 'web01': timeoutAction: postcopy needs postcopy: true" },
        { "completionTimeoutPerGiB 0", PolicyScope.Cluster, "prod", new PolicyBlock { CompletionTimeoutPerGiB = 0 }, [], "'completionTimeoutPerGiB' of the migration policy of cluster 'prod' must be at least 1, not 0" },
        { "progressTimeout above a day", PolicyScope.VM, "t01", new PolicyBlock { ProgressTimeout = 86401 }, [], "'progressTimeout' of the migration policy of VM 't01' must be at most 86400, not 86401" },
        { "linkLossToleranceSeconds above an hour", PolicyScope.VM, "db01", new PolicyBlock { LinkLossToleranceSeconds = 3601 }, [], "'linkLossToleranceSeconds' of the migration policy of VM 'db01' must be at most 3600, not 3601" },
        { "linkLossToleranceSeconds 0", PolicyScope.Cluster, "prod", new PolicyBlock { LinkLossToleranceSeconds = 0 }, [], "'linkLossToleranceSeconds' of the migration policy of cluster 'prod' must be at least 1, not 0" },
        { "networks naming no network", PolicyScope.Cluster, "prod", new PolicyBlock { Networks = [] }, [], "'networks' of the migration policy of cluster 'prod' must name at least one network" },
        { "networks naming an unknown network", PolicyScope.VM, "web01", new PolicyBlock { Networks = ["mig", "iscsi"] }, [], "'networks' of the migration policy of VM 'web01' names network 'iscsi', which is not in networks (known: lan, mig)" },
        { "networks naming one twice", PolicyScope.Cluster, "test", new PolicyBlock { Networks = ["lan", "mig", "LAN"] }, [], "'networks' of the migration policy of cluster 'test' names network 'lan' twice" }, // written as the inventory spells it
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public void RejectedChange_ThrowsPolicyRejected_AndLeavesTheFileAlone(string why, PolicyScope scope, string name, PolicyBlock set, string[] clear, string fragment)
    {
        Assert.NotEmpty(why);
        var path = Write();
        var before = File.ReadAllBytes(path);
        var stamp = File.GetLastWriteTimeUtc(path);
        var target = new PolicyTarget(scope, name);

        var e = Assert.ThrowsAny<MigrationException>(() => Apply(path, target, set, clear));

        Assert.Equal("PolicyRejected", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Equal(name, e.Target);
        Assert.Contains(fragment, e.Message);
        Assert.Contains("unchanged", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
        AssertNoOtherFiles(path);
    }

    [Fact]
    public void UnknownCluster_FailsWithDidYouMean()
    {
        var path = Write();
        var before = File.ReadAllBytes(path);
        var e = Assert.ThrowsAny<MigrationException>(() =>
            Apply(path, PolicyTarget.ForCluster("prd"), new PolicyBlock { Parallel = ParallelMode.Disabled }));
        Assert.Equal("ClusterNotFound", e.ErrorId);
        Assert.Equal(FailureKind.NotFound, e.Kind);
        Assert.Contains("did you mean 'prod'?", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void UnknownVm_FailsWithDidYouMean()
    {
        var path = Write();
        var e = Assert.ThrowsAny<MigrationException>(() =>
            Apply(path, PolicyTarget.ForVm("db1"), new PolicyBlock { Parallel = ParallelMode.Disabled }));
        Assert.Equal("VMNotFound", e.ErrorId);
        Assert.Contains("did you mean 'db01'?", e.Message);
    }

    [Fact]
    public void AnInvalidInventory_IsNotEdited()
    {
        var path = Write(text: Rich.Replace("    cpuThreads: 8\n", "    cpuThreads: eight\n"));
        var before = File.ReadAllBytes(path);
        var e = Assert.Throws<InventoryException>(() =>
            Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Parallel = ParallelMode.Disabled }));
        Assert.Equal(Path.GetFullPath(path), e.Problems[0].Location.File);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void MissingFile_IsInventoryNotFound()
    {
        var e = Assert.ThrowsAny<MigrationException>(() =>
            Apply(Path.Combine(directory, "nope.yaml"), PolicyTarget.ForCluster("prod"), new PolicyBlock()));
        Assert.Equal("InventoryNotFound", e.ErrorId);
    }

    // ---- the file itself ------------------------------------------------------------------------

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead)]
    public void FileMode_IsPreserved(UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows()) return; // Unix file modes only; this suite runs on Linux
        var path = Write();
        File.SetUnixFileMode(path, mode);

        var result = Apply(path, PolicyTarget.ForCluster("prod"), new PolicyBlock { Parallel = ParallelMode.Disabled });

        Assert.True(result.Written);
        Assert.Equal(mode, File.GetUnixFileMode(path));
    }

    [Fact]
    public void SymbolicLink_StaysALink_AndItsTargetIsEdited()
    {
        var realDirectory = Directory.CreateDirectory(Path.Combine(directory, "real")).FullName;
        var linkDirectory = Directory.CreateDirectory(Path.Combine(directory, "links")).FullName;
        var target = Path.Combine(realDirectory, "inventory.yaml");
        File.WriteAllBytes(target, Encode(Rich, Variant.Lf));
        var before = File.ReadAllBytes(target);
        var link = Path.Combine(linkDirectory, "inventory.yaml");
        File.CreateSymbolicLink(link, "../real/inventory.yaml");

        var result = Apply(link, PolicyTarget.ForCluster("prod"), new PolicyBlock { Parallel = ParallelMode.Disabled });

        Assert.True(result.Written);
        Assert.Equal(link, result.Path); // reported as the user named it
        var info = new FileInfo(link);
        Assert.Equal("../real/inventory.yaml", info.LinkTarget);
        AssertSpliced(before, File.ReadAllBytes(target), Variant.Lf,
            ("      parallel: Auto ", "      parallel: Disabled "));
        Assert.Equal(ParallelMode.Disabled, InventoryLoader.Load(link).ClusterPolicy("prod").Parallel);
        AssertNoOtherFiles(target);
        AssertNoOtherFiles(link);
    }

    [Fact]
    public void SymbolicLinkChain_EditsTheFinalTarget()
    {
        var target = Write();
        var middle = Path.Combine(directory, "middle.yaml");
        var outer = Path.Combine(directory, "outer.yaml");
        File.CreateSymbolicLink(middle, target);
        File.CreateSymbolicLink(outer, middle);

        var result = Apply(outer, PolicyTarget.ForCluster("prod"), new PolicyBlock { Parallel = ParallelMode.Disabled });

        Assert.Equal(outer, result.Path);
        Assert.Equal(middle, new FileInfo(outer).LinkTarget);
        Assert.Equal(target, new FileInfo(middle).LinkTarget);
        Assert.Contains("parallel: Disabled", File.ReadAllText(target));
    }

    [Fact]
    public void EditsInSequence_EachSeeThePrevious()
    {
        var path = Write();
        Apply(path, PolicyTarget.ForVm("web01"), new PolicyBlock { Parallel = ParallelMode.Disabled });
        Apply(path, PolicyTarget.ForVm("web01"), new PolicyBlock { MaxDowntimeMs = 100 });
        var result = Apply(path, PolicyTarget.ForVm("web01"), new PolicyBlock(), [PolicyKeys.Parallel, PolicyKeys.MaxDowntimeMs]);

        Assert.True(result.Written);
        Assert.Equal(Rich, File.ReadAllText(path)); // back to the very same text
    }
}
