using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;

namespace PSMigration.Core.Tests;

/// <summary><see cref="DrainRecord"/>: what drains moved off a host, in <c>.NAME.drained-HOST.json</c> beside the
/// inventory (beside the file a link points to): one entry per VM, the latest; an emptied record is no file; a record
/// that cannot be read is an error naming the file.</summary>
public sealed class DrainRecordTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("psmig-drained-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Inventory(string folder = "")
    {
        var dir = Path.Combine(directory, folder);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "inventory.yaml");
        File.WriteAllText(path, InventoryBuilder.TwoHosts().Yaml());
        return path;
    }

    [Fact]
    public void No_record_reads_as_empty_and_is_no_file()
    {
        var path = Inventory();

        var record = DrainRecord.Read(path, "kvm01");

        Assert.Equal("kvm01", record.Host);
        Assert.Empty(record.Moves);
        Assert.Equal(Path.Combine(directory, ".inventory.yaml.drained-kvm01.json"), DrainRecord.FileOf(path, "kvm01"));
        Assert.False(File.Exists(DrainRecord.FileOf(path, "kvm01")));
    }

    [Fact]
    public void Adding_a_vm_twice_keeps_one_entry_for_it_its_latest_destination()
    {
        var path = Inventory();

        DrainRecord.Add(path, "kvm01", "web01", "kvm02");
        DrainRecord.Add(path, "kvm01", "db01", "kvm02");
        DrainRecord.Add(path, "kvm01", "WEB01", "kvm03"); // names ignore case

        var moves = DrainRecord.Read(path, "kvm01").Moves;
        Assert.Equal(["db01 -> kvm02", "WEB01 -> kvm03"], moves.Select(m => m.ToString()));
        Assert.All(moves, m => Assert.True(DateTimeOffset.UtcNow - m.MovedAt < TimeSpan.FromMinutes(1)));
        Assert.Empty(DrainRecord.Read(path, "kvm02").Moves); // each host has its own record
    }

    [Fact]
    public void Removing_the_last_vm_deletes_the_file()
    {
        var path = Inventory();
        DrainRecord.Add(path, "kvm01", "web01", "kvm02");
        DrainRecord.Add(path, "kvm01", "db01", "kvm02");
        var file = DrainRecord.FileOf(path, "kvm01");

        DrainRecord.Remove(path, "kvm01", "web01");
        Assert.Equal(["db01"], DrainRecord.Read(path, "kvm01").Moves.Select(m => m.Vm));
        Assert.True(File.Exists(file));

        DrainRecord.Remove(path, "kvm01", "DB01");
        Assert.False(File.Exists(file));
        Assert.Empty(DrainRecord.Read(path, "kvm01").Moves);
        DrainRecord.Remove(path, "kvm01", "db01"); // nothing left to forget: still no file, no error
        Assert.False(File.Exists(file));
        Assert.Equal([".inventory.yaml.lock", "inventory.yaml"], Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_record_sits_beside_the_file_the_inventory_link_points_to()
    {
        var target = Inventory("real");
        var links = Path.Combine(directory, "links");
        Directory.CreateDirectory(links);
        var link = Path.Combine(links, "cluster.yaml");
        File.CreateSymbolicLink(link, "../real/inventory.yaml");

        DrainRecord.Add(link, "kvm01", "web01", "kvm02");

        var file = Path.Combine(directory, "real", ".inventory.yaml.drained-kvm01.json");
        Assert.Equal(file, DrainRecord.FileOf(link, "kvm01"));
        Assert.True(File.Exists(file));
        Assert.Empty(Directory.GetFiles(links, "*.json"));
        Assert.Equal(["web01"], DrainRecord.Read(target, "kvm01").Moves.Select(m => m.Vm)); // the same record either way
        Assert.True(File.Exists(Path.Combine(directory, "real", ".inventory.yaml.lock"))); // written under the target's lock
    }

    [Theory]
    [InlineData("{ \"host\": \"kvm01\", \"moves\": [")]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("{ \"host\": \"kvm01\", \"moves\": [ { \"destination\": \"kvm02\" } ] }")]
    public void An_unreadable_record_is_an_error_naming_the_file(string text)
    {
        var path = Inventory();
        var file = DrainRecord.FileOf(path, "kvm01");
        File.WriteAllText(file, text);

        var read = Assert.Throws<MigrationException>(() => DrainRecord.Read(path, "kvm01"));
        var add = Assert.Throws<MigrationException>(() => DrainRecord.Add(path, "kvm01", "web01", "kvm02"));

        foreach (var e in new[] { read, add })
        {
            Assert.Equal("DrainRecordUnreadable", e.ErrorId);
            Assert.Equal(FailureKind.InvalidInput, e.Kind);
            Assert.StartsWith($"Cannot read {file}, the record of what drains moved off kvm01: ", e.Message);
            Assert.EndsWith("Fix or remove it (it lists VMs and the hosts they went to).", e.Message);
        }
        Assert.Equal(text, File.ReadAllText(file)); // left for the user to look at
    }

    [Fact]
    public void A_record_is_json_that_names_the_host_and_each_move()
    {
        var path = Inventory();

        DrainRecord.Add(path, "kvm01", "web01", "kvm02");

        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(DrainRecord.FileOf(path, "kvm01")));
        Assert.Equal("kvm01", json.RootElement.GetProperty("host").GetString());
        var move = Assert.Single(json.RootElement.GetProperty("moves").EnumerateArray().ToList());
        Assert.Equal(("web01", "kvm02"), (move.GetProperty("vm").GetString(), move.GetProperty("destination").GetString()));
        Assert.True(move.TryGetProperty("movedAt", out _));
    }
}
