using PSMigration.Core.Inventory;

namespace PSMigration.Qemu.Incoming;

/// <summary>The first way two inventories' descriptions of one VM's QEMU differ (binary, QMP path, or an argument),
/// to say which copy to fix.</summary>
internal sealed record QemuSpecDifference(string What, string? Source, string? Destination)
{
    public static QemuSpecDifference? Between(QemuSpec source, QemuSpec destination)
    {
        if (source.Binary != destination.Binary) return new("the binary", source.Binary, destination.Binary);
        if (source.Qmp != destination.Qmp) return new("the qmp path", source.Qmp, destination.Qmp);
        for (var i = 0; i < Math.Max(source.Args.Count, destination.Args.Count); i++)
        {
            var left = i < source.Args.Count ? source.Args[i] : null;
            var right = i < destination.Args.Count ? destination.Args[i] : null;
            if (left != right) return new($"argument {i + 1}", left, right);
        }
        return null;
    }

    public string Describe(string sourceHost, string destinationHost) =>
        $"{What} is {Shown(Source)} on {sourceHost} but {Shown(Destination)} on {destinationHost}";

    private static string Shown(string? value) => value is null ? "absent" : $"'{value}'";
}
