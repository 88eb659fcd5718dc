using PSMigration.Core.Inventory;

namespace PSMigration.Core.Tests;

/// <summary><see cref="MaintenanceEditor"/>: exactly the host's <c>maintenance</c> line changes (added, or removed when it
/// is cleared), every other byte stays; a dry run writes nothing; an unknown host is refused with a did-you-mean.</summary>
public sealed class MaintenanceEditorTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("psmig-maint-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(directory, "inventory.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    private static readonly string Base = InventoryBuilder.TwoHosts().Yaml().Replace("  - name: kvm02\n", "  - name: kvm02  # rack 4\n");

    [Fact]
    public void Suspending_adds_one_line_and_resuming_takes_it_away_again()
    {
        var path = Write(Base);

        Assert.Equal(("kvm02", true), MaintenanceEditor.Set(path, "KVM02", true, write: true)); // as the inventory names it
        var suspended = File.ReadAllText(path);
        Assert.Equal(Base.Split('\n').Length + 1, suspended.Split('\n').Length);
        Assert.Contains("  - name: kvm02  # rack 4\n", suspended);
        Assert.True(InventoryLoader.Load(path).Host("kvm02").InMaintenance);
        Assert.False(MaintenanceEditor.Set(path, "kvm02", true, write: true).Changed); // already: nothing written

        Assert.True(MaintenanceEditor.Set(path, "kvm02", false, write: true).Changed);
        Assert.Equal(Base, File.ReadAllText(path));
    }

    [Fact]
    public void A_dry_run_says_whether_it_would_change_and_writes_nothing()
    {
        var path = Write(Base);

        Assert.True(MaintenanceEditor.Set(path, "kvm01", true, write: false).Changed);
        Assert.Equal(Base, File.ReadAllText(path));
        Assert.False(MaintenanceEditor.Set(path, "kvm01", false, write: false).Changed);
    }

    [Fact]
    public void A_preview_is_the_inventory_with_the_change_and_writes_nothing()
    {
        var path = Write(Base);
        var before = File.ReadAllBytes(path);

        var suspended = MaintenanceEditor.Preview(path, "KVM02", maintenance: true);

        Assert.True(suspended.Host("kvm02").InMaintenance);
        Assert.False(suspended.Host("kvm01").InMaintenance);
        Assert.Equal(path, suspended.Path);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.False(InventoryLoader.Load(path).Host("kvm02").InMaintenance);
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(directory).Select(Path.GetFileName)); // not even the lock

        MaintenanceEditor.Set(path, "kvm02", true, write: true);
        var suspendedOnDisk = File.ReadAllBytes(path);
        var resumed = MaintenanceEditor.Preview(path, "kvm02", maintenance: false);
        Assert.False(resumed.Host("kvm02").InMaintenance); // what a failback plans with, before it writes
        Assert.Equal(suspendedOnDisk, File.ReadAllBytes(path));
        Assert.True(MaintenanceEditor.Preview(path, "kvm02", maintenance: true).Host("kvm02").InMaintenance); // as it is already
    }

    [Fact]
    public void A_preview_of_an_unknown_host_is_refused_with_a_did_you_mean()
    {
        var path = Write(Base);

        var e = Assert.Throws<PSMigration.Core.Diagnostics.MigrationException>(() => MaintenanceEditor.Preview(path, "kvm2", true));

        Assert.Equal("HostNotFound", e.ErrorId);
        Assert.Contains("kvm02", e.Message);
    }

    [Fact]
    public void An_unknown_host_is_refused_with_a_did_you_mean_and_the_file_is_left()
    {
        var path = Write(Base);

        var e = Assert.Throws<PSMigration.Core.Diagnostics.MigrationException>(() => MaintenanceEditor.Set(path, "kvm2", true, write: true));

        Assert.Equal("HostNotFound", e.ErrorId);
        Assert.Contains("kvm02", e.Message);
        Assert.Equal(Base, File.ReadAllText(path));
    }
}
