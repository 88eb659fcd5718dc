using PSMigration.Core.Diagnostics;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Inventory;

/// <summary>Records where a VM runs after a migration: its <c>host:</c> value changes and every
/// other byte of the inventory stays as it was. The new text must load before it is written.</summary>
public static class VmHostEditor
{
    /// <summary>Moves <paramref name="vm"/> from <paramref name="expectedHost"/> to <paramref name="newHost"/>;
    /// refuses when the file says the VM is elsewhere (someone else changed it meanwhile).</summary>
    public static void Move(string path, string vm, string expectedHost, string newHost) => InventoryFile.Edit(path, file =>
    {
        var current = InventoryLoader.Parse(file.Text, file.Path).Vm(vm);
        var names = MigrationInventory.NameComparer;
        if (names.Equals(current.Host, newHost)) return ((string?)null, true); // recorded already (the other host's copy of the move)
        if (!names.Equals(current.Host, expectedHost))
            throw new MigrationException("InventoryChanged", FailureKind.OperationFailed,
                $"{file.Path} now says {vm} runs on {current.Host}, not {expectedHost}; it was left unchanged", vm);
        var item = InventoryItems.Find((YamlMap)YamlTree.Parse(file.Text)[0], "vms", current.Name);
        var editor = new YamlTextEditor(file.Text);
        editor.EditMapping(item, [("host", newHost)], []);
        var newText = editor.Apply();
        InventoryLoader.Parse(newText, file.Path); // the new host is in the file already, so this holds; check anyway
        return (newText, true);
    });
}

/// <summary>Finds the mapping of a named item (a cluster, host or VM) in an inventory's YAML tree.</summary>
internal static class InventoryItems
{
    public static YamlMap Find(YamlMap root, string section, string name) =>
        ((YamlList)root.Entry(section)!.Value.Value).Items.OfType<YamlMap>()
        .First(item => item.Entry("name")?.Value is YamlScalar { Value: var itemName } && MigrationInventory.NameComparer.Equals(itemName, name));
}
