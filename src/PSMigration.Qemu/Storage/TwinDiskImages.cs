using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Storage;

/// <summary>Where a VM's command line keeps each disk's image: <c>-drive id=K,file=P,format=F</c>, or a
/// <c>-blockdev</c> format node <c>node-name=K</c> over a file node (named by <c>file=</c>, or inline
/// <c>file.filename=</c>), or a <c>-blockdev driver=file,node-name=K</c> used raw.</summary>
internal static class TwinDiskImages
{
    /// <summary>The image file and format of disk <paramref name="key"/> in <paramref name="args"/>, or null.</summary>
    public static (string Path, string Format)? Find(IReadOnlyList<string> args, string key)
    {
        var drives = new List<QemuProperties>();
        var blockdevs = new List<QemuProperties>();
        for (var i = 0; i + 1 < args.Count; i++)
        {
            if (args[i] == "-drive") drives.Add(QemuProperties.Parse(args[++i]));
            else if (args[i] == "-blockdev") blockdevs.Add(QemuProperties.Parse(args[++i]));
        }
        if (drives.FirstOrDefault(d => d.Get("id") == key) is { } drive && drive.Get("file") is { } file)
            return (file, drive.Get("format") ?? "raw");
        if (blockdevs.FirstOrDefault(b => b.Get("node-name") == key) is not { } node) return null;
        var driver = node.Get("driver");
        if (driver == "file") return node.Get("filename") is { } raw ? (raw, "raw") : null;
        if (driver is not ("qcow2" or "raw")) return null;
        var filename = node.Get("file.filename")
                       ?? blockdevs.FirstOrDefault(b => b.Get("node-name") == node.Get("file") && b.Get("driver") == "file")?.Get("filename");
        return filename is null ? null : (filename, driver);
    }
}
