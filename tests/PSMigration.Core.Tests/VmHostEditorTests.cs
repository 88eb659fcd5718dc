using System.Text;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.Core.Tests;

/// <summary>
/// <see cref="VmHostEditor.Move"/>, which records a migrated VM's new host: exactly its <c>host:</c>
/// value changes, every other byte (comments, line endings, BOM, the other VMs) stays; a file that no
/// longer says the expected host is refused and left as it was.
/// </summary>
public sealed class VmHostEditorTests : IDisposable
{
    /// <summary>Hand-written: comments everywhere, two VMs on kvm01 (only one moves), a flow-style VM, non-ASCII.</summary>
    private const string HandWritten = """
        # Production inventory — edited by hand and by psmig migrate. Ünïcödé stays.
        networks:
          - name: lan            # every host
            cidr: 192.0.2.0/24
            role: management

        clusters:
          - name: prod

        hosts:
          - name: kvm01
            cluster: prod
            cpuThreads: 32
            interfaces:
              - { name: eth0, addresses: [192.0.2.11/24], speedGbps: 1 }
          - name: kvm02
            cluster: prod
            cpuThreads: 32
            interfaces:
              - { name: eth0, addresses: [192.0.2.12/24], speedGbps: 1 }
          - name: kvm03
            cluster: prod
            cpuThreads: 16
            interfaces:
              - { name: eth0, addresses: [192.0.2.13/24], speedGbps: 1 }

        vms:
          - name: web01
            host: kvm01        # rack 3
            vcpus: 8
            memoryMiB: 4096
          - name: db01
            # the database stays
            host: kvm01
            vcpus: 4
            memoryMiB: 8192
          - { name: flow01, host: kvm01, vcpus: 1, memoryMiB: 256 }
        # end of inventory

        """;

    private readonly string directory = Directory.CreateTempSubdirectory("psmig-move-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Theory]
    [InlineData("\n", false)]
    [InlineData("\r\n", false)]
    [InlineData("\n", true)]
    [InlineData("\r\n", true)]
    public void Move_changes_only_the_host_value_of_that_vm(string newline, bool bom)
    {
        var path = Write(HandWritten, newline, bom);
        var before = File.ReadAllBytes(path);

        VmHostEditor.Move(path, "web01", "kvm01", "kvm02");

        var expected = Encode(Yaml.ReplaceOnce(HandWritten, "    host: kvm01        # rack 3\n", "    host: kvm02        # rack 3\n"), newline, bom);
        Assert.Equal(Show(expected), Show(File.ReadAllBytes(path)));
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(path)), "the bytes differ (BOM or encoding)");
        Assert.NotEqual(before, File.ReadAllBytes(path));
        var inventory = InventoryLoader.Load(path);
        Assert.Equal("kvm02", inventory.Vm("web01").Host);
        Assert.Equal("kvm01", inventory.Vm("db01").Host);
        Assert.Equal("kvm01", inventory.Vm("flow01").Host);
        AssertNoOtherFiles(path);
    }

    [Fact]
    public void Move_of_a_flow_style_vm_changes_only_its_host()
    {
        var path = Write(HandWritten);

        VmHostEditor.Move(path, "flow01", "kvm01", "kvm03");

        Assert.Equal(Yaml.ReplaceOnce(HandWritten, "{ name: flow01, host: kvm01,", "{ name: flow01, host: kvm03,"), File.ReadAllText(path));
        Assert.Equal("kvm03", InventoryLoader.Load(path).Vm("flow01").Host);
    }

    [Fact]
    public void Move_is_refused_when_the_file_says_another_host_and_leaves_the_file_unchanged()
    {
        var text = Yaml.ReplaceOnce(HandWritten, "    host: kvm01        # rack 3\n", "    host: kvm03        # rack 3\n"); // moved meanwhile
        var path = Write(text, "\r\n", bom: true);
        var before = File.ReadAllBytes(path);

        var e = Assert.Throws<MigrationException>(() => VmHostEditor.Move(path, "web01", "kvm01", "kvm02"));

        Assert.Equal("InventoryChanged", e.ErrorId);
        Assert.Equal(FailureKind.OperationFailed, e.Kind);
        Assert.Contains("now says web01 runs on kvm03, not kvm01", e.Message);
        Assert.Contains(path, e.Message);
        Assert.Contains("left unchanged", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        AssertNoOtherFiles(path);
    }

    [Fact]
    public void Move_to_where_the_file_already_says_changes_nothing()
    {
        var text = Yaml.ReplaceOnce(HandWritten, "    host: kvm01        # rack 3\n", "    host: kvm02        # rack 3\n");
        var path = Write(text);
        var before = File.ReadAllBytes(path);

        VmHostEditor.Move(path, "web01", "kvm01", "kvm02");

        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Move_of_an_unknown_vm_is_refused_and_leaves_the_file_unchanged()
    {
        var path = Write(HandWritten);
        var before = File.ReadAllBytes(path);

        var e = Assert.Throws<MigrationException>(() => VmHostEditor.Move(path, "web99", "kvm01", "kvm02"));

        Assert.Equal("VMNotFound", e.ErrorId);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Move_to_a_host_the_inventory_does_not_have_is_refused_and_leaves_the_file_unchanged()
    {
        var path = Write(HandWritten);
        var before = File.ReadAllBytes(path);

        Assert.ThrowsAny<MigrationException>(() => VmHostEditor.Move(path, "web01", "kvm01", "kvm09"));

        Assert.Equal(before, File.ReadAllBytes(path));
        AssertNoOtherFiles(path);
    }

    private string Write(string text, string newline = "\n", bool bom = false)
    {
        var path = Path.Combine(directory, "inventory.yaml");
        File.WriteAllBytes(path, Encode(text, newline, bom));
        return path;
    }

    private static byte[] Encode(string text, string newline, bool bom)
    {
        var body = Encoding.UTF8.GetBytes(text.Replace("\n", newline));
        return bom ? [0xEF, 0xBB, 0xBF, .. body] : body;
    }

    private static string Show(byte[] bytes) =>
        (bytes.AsSpan().StartsWith((byte[])[0xEF, 0xBB, 0xBF]) ? "<BOM>" : "") +
        Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF').Replace("\r", "<CR>");

    /// <summary>No temporary file is left: only the inventory and the lock file its edits share.</summary>
    private void AssertNoOtherFiles(string path) =>
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(directory).Select(f => Path.GetFileName(f)).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)));

    [Fact]
    public async Task Moves_of_many_VMs_at_once_are_all_recorded()
    {
        var vms = Enumerable.Range(1, 12).Select(i => $"vm{i:00}").ToList();
        var path = Write(HandWritten.Replace("# end of inventory\n",
            string.Concat(vms.Select(vm => $"  - {{ name: {vm}, host: kvm01, vcpus: 1, memoryMiB: 256 }}\n")) + "# end of inventory\n"));

        await Task.WhenAll(vms.Select(vm => Task.Run(() => VmHostEditor.Move(path, vm, "kvm01", vm.EndsWith('1') ? "kvm03" : "kvm02"))));

        var inventory = InventoryLoader.Load(path);
        Assert.All(vms, vm => Assert.Equal(vm.EndsWith('1') ? "kvm03" : "kvm02", inventory.Vm(vm).Host));
        Assert.Equal("kvm01", inventory.Vm("web01").Host);
        AssertNoOtherFiles(path);
    }

    [Fact]
    public async Task A_move_waits_for_the_edit_that_holds_the_lock_and_then_lands_on_its_result()
    {
        var path = Write(HandWritten);
        Task move;
        using (var held = new FileStream(Path.Combine(directory, ".inventory.yaml.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            move = Task.Run(() => VmHostEditor.Move(path, "web01", "kvm01", "kvm02"));
            await Task.Delay(500);
            Assert.False(move.IsCompleted, "the move must wait while another edit holds the lock");
            File.WriteAllText(path, File.ReadAllText(path).Replace("# the database stays", "# the database stays (edited meanwhile)"));
        }
        await move.WaitAsync(TimeSpan.FromSeconds(10));

        var text = File.ReadAllText(path);
        Assert.Contains("# the database stays (edited meanwhile)", text); // the other edit is kept
        Assert.Equal("kvm02", InventoryLoader.Load(path).Vm("web01").Host);
    }
}
