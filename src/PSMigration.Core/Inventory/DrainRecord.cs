using System.Text.Json;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Core.Inventory;

/// <summary>A VM a drain moved off a host: where it went, and when.</summary>
public sealed record DrainedVm(string Vm, string Destination, DateTimeOffset MovedAt)
{
    public override string ToString() => $"{Vm} -> {Destination}";
}

/// <summary>
/// What the drains of a host moved away and a failback has not brought back yet (<c>Resume-MigrationHost -Failback</c>
/// reads it). It is kept beside the inventory, in <c>.NAME.drained-HOST.json</c> (NAME the inventory file's name),
/// so it goes wherever the inventory goes and is written under the inventory's lock: a record lists a VM only after the
/// inventory says it moved. Drains add to it (a drain stopped half-way and run again keeps both halves); a failback
/// removes each VM it brings back; an empty record is no file.
/// </summary>
public sealed record DrainRecord(string Host, IReadOnlyList<DrainedVm> Moves)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The record of <paramref name="host"/> (as the inventory names it); empty when no drain moved anything.</summary>
    public static DrainRecord Read(string inventoryPath, string host) => ReadFile(FileOf(inventoryPath, host), host);

    /// <summary>Records that a drain moved <paramref name="vm"/> off <paramref name="host"/> to <paramref name="destination"/>
    /// (a VM recorded already keeps one entry, its latest).</summary>
    public static void Add(string inventoryPath, string host, string vm, string destination) =>
        Change(inventoryPath, host, moves => moves.Where(m => !MigrationInventory.NameComparer.Equals(m.Vm, vm))
            .Append(new DrainedVm(vm, destination, DateTimeOffset.UtcNow)).ToList());

    /// <summary>Forgets <paramref name="vm"/> (it came back, or is no longer where the drain put it).</summary>
    public static void Remove(string inventoryPath, string host, string vm) =>
        Change(inventoryPath, host, moves => moves.Where(m => !MigrationInventory.NameComparer.Equals(m.Vm, vm)).ToList());

    private static void Change(string inventoryPath, string host, Func<IReadOnlyList<DrainedVm>, List<DrainedVm>> change) =>
        InventoryFile.Locked(inventoryPath, () =>
        {
            var file = FileOf(inventoryPath, host);
            var moves = change(ReadFile(file, host).Moves);
            try
            {
                if (moves.Count == 0)
                {
                    File.Delete(file);
                    return;
                }
                var temporary = $"{file}.{Guid.NewGuid():N}.tmp"; // replaced whole, like the inventory: never half a record
                File.WriteAllText(temporary, JsonSerializer.Serialize(new DrainRecord(host, moves), Json));
                File.Move(temporary, file, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new MigrationException("DrainRecordWriteFailed", FailureKind.OperationFailed,
                    $"Cannot write {file}, the record of what drains moved off {host}: {e.Message}", host, e);
            }
        });

    private static DrainRecord ReadFile(string file, string host)
    {
        try
        {
            var record = File.Exists(file) ? JsonSerializer.Deserialize<DrainRecord>(File.ReadAllText(file), Json) : null;
            if (record is null) return new(host, []);
            if (record.Moves is null || record.Moves.Any(m => m?.Vm is null || m.Destination is null))
                throw new JsonException("it has no moves list, or a move without its vm or destination");
            return record;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new MigrationException("DrainRecordUnreadable", FailureKind.InvalidInput,
                $"Cannot read {file}, the record of what drains moved off {host}: {e.Message}. Fix or remove it (it lists VMs and the hosts they went to).", host, e);
        }
    }

    public static string FileOf(string inventoryPath, string host)
    {
        var inventory = InventoryFile.TargetPath(inventoryPath);
        return Path.Combine(Path.GetDirectoryName(inventory)!, $".{Path.GetFileName(inventory)}.drained-{host.ToLowerInvariant()}.json");
    }
}
