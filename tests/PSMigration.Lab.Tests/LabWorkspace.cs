namespace PSMigration.Lab.Tests;

/// <summary>A test class's files: a temporary folder with host A's and host B's run directories, the PKI
/// folder and the inventory path.</summary>
internal sealed record LabWorkspace(string Folder, string RunA, string RunB, string Pki, string Inventory)
{
    public static LabWorkspace Create(string prefix)
    {
        var folder = Directory.CreateTempSubdirectory(prefix).FullName;
        return new LabWorkspace(folder,
            Directory.CreateDirectory(Path.Combine(folder, "a")).FullName,
            Directory.CreateDirectory(Path.Combine(folder, "b")).FullName,
            Path.Combine(folder, "pki"),
            Path.Combine(folder, "inventory.yaml"));
    }
}
