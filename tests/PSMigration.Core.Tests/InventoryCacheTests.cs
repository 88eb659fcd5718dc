using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.Core.Tests;

/// <summary>A loaded inventory is reused while its file is unchanged, and read again as soon as its
/// length, modification time or inode changes.</summary>
public sealed class InventoryCacheTests : IDisposable
{
    private static readonly string Base = InventoryBuilder.TwoHosts().Yaml();
    private readonly string directory = Directory.CreateTempSubdirectory("psmig-cache-").FullName;

    private string Write(string name, string text, DateTime? writeTime = null)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        File.SetLastWriteTimeUtc(path, writeTime ?? new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        return path;
    }

    [Fact]
    public void AnUnchangedFile_IsReadOnce()
    {
        var path = Write("inv.yaml", Base);
        var first = InventoryCache.Load(path, out var reusedFirst);
        var second = InventoryCache.Load(path, out var reusedSecond);
        Assert.False(reusedFirst);
        Assert.True(reusedSecond);
        Assert.Same(first, second);
    }

    [Fact]
    public void AnEditedFile_IsReadAgain()
    {
        var path = Write("inv.yaml", Base);
        InventoryCache.Load(path, out _);
        File.WriteAllText(path, Base.Replace("vcpus: 8", "vcpus: 6"));
        var after = InventoryCache.Load(path, out var reused);
        Assert.False(reused);
        Assert.Equal(6, after.Vm("web01").Vcpus);
    }

    [Fact]
    public void AFileReplacedByOneOfTheSameLengthAndTime_IsReadAgain_ByItsInode()
    {
        var when = new DateTime(2026, 2, 2, 0, 0, 0, DateTimeKind.Utc);
        var path = Write("inv.yaml", Base, when);
        InventoryCache.Load(path, out _);
        var other = Write("other.yaml", Base.Replace("vcpus: 8", "vcpus: 4"), when); // same length, same mtime
        File.Move(other, path, overwrite: true);
        Assert.Equal(new FileInfo(path).Length, Base.Length);
        var after = InventoryCache.Load(path, out var reused);
        Assert.False(reused);
        Assert.Equal(4, after.Vm("web01").Vcpus);
    }

    [Fact]
    public void ABrokenFile_IsReported_AndItsFixIsPickedUp()
    {
        var path = Write("inv.yaml", Base);
        InventoryCache.Load(path, out _);
        File.WriteAllText(path, Base + "  - {\n");
        Assert.Throws<InventoryException>(() => InventoryCache.Load(path, out _));
        File.WriteAllText(path, Base);
        Assert.Equal("web01", InventoryCache.Load(path, out var reused).Vm("web01").Name);
        Assert.False(reused);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
