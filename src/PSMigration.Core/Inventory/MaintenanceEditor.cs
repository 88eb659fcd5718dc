using PSMigration.Core.Yaml;

namespace PSMigration.Core.Inventory;

/// <summary>Puts a host in maintenance (<c>maintenance: true</c>: never a destination) or takes it out (the key goes,
/// as false is its default), changing only that line of the inventory, with the lock every edit takes.</summary>
public static class MaintenanceEditor
{
    /// <summary>Sets <paramref name="host"/>'s maintenance: the host as the inventory names it, and whether the file
    /// changes (false: it says so already, nothing is written).</summary>
    /// <param name="write">False: only say whether it would change (-WhatIf).</param>
    public static (string Host, bool Changed) Set(string path, string host, bool maintenance, bool write) => write
        ? InventoryFile.Edit(path, file => Change(file, host, maintenance))
        : Change(InventoryFile.Read(path), host, maintenance).Result;

    /// <summary>The inventory as it would be with <paramref name="host"/>'s maintenance set, without writing it (a
    /// failback plans its moves to a host that is still in maintenance until it runs).</summary>
    public static MigrationInventory Preview(string path, string host, bool maintenance)
    {
        var file = InventoryFile.Read(path);
        return InventoryLoader.Parse(Change(file, host, maintenance).NewText ?? file.Text, file.Path);
    }

    private static (string? NewText, (string Host, bool Changed) Result) Change(InventoryFile file, string host, bool maintenance)
    {
        var found = InventoryLoader.Parse(file.Text, file.Path).Host(host); // an unknown name fails here, with a did-you-mean
        if (found.InMaintenance == maintenance) return (null, (found.Name, false));
        var item = InventoryItems.Find((YamlMap)YamlTree.Parse(file.Text)[0], "hosts", found.Name);
        var editor = new YamlTextEditor(file.Text);
        if (maintenance) editor.EditMapping(item, [("maintenance", "true")], []);
        else editor.EditMapping(item, [], ["maintenance"]);
        var newText = editor.Apply();
        InventoryLoader.Parse(newText, file.Path); // only one host's flag changed: this holds; check anyway
        return (newText, (found.Name, true));
    }
}
