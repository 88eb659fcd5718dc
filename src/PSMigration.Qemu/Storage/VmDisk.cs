using System.Text.Json;
using PSMigration.Engine.Transfer;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Storage;

/// <summary>What a copy-storage migration does with a disk.</summary>
public enum DiskDisposition
{
    /// <summary>A writable disk on a local file or device: copied to the destination.</summary>
    Copy,
    /// <summary>Read-only: the destination must have its own (ISO, firmware image): left alone.</summary>
    ReadOnly,
    /// <summary>On network storage (NBD, iSCSI, RBD, ...) that both hosts reach: left alone.</summary>
    Shared,
}

/// <summary>
/// One disk of the running source VM, as QEMU reports it (<c>query-block</c>, <c>query-named-block-nodes</c>), not as
/// an inventory describes it. <see cref="Key"/> names it the way QEMU's commands and the twin's command line do: the
/// <c>-drive</c> id, or the top node's <c>node-name</c> of a <c>-blockdev</c> disk.
/// </summary>
/// <param name="Device">How the user knows it: the drive id, else the guest device's id, else the node name.</param>
/// <param name="AllocatedBytes">What the image and its backing files hold on the source's disks: the copy's size.</param>
public sealed record VmDisk(string Key, string Device, string Path, string Format, long VirtualBytes, long AllocatedBytes, DiskDisposition Disposition)
{
    public bool Copied => Disposition == DiskDisposition.Copy;

    /// <summary>"drive0 /var/lib/vm/web01.qcow2 (qcow2, 20 GiB, 3.1 GiB allocated)" and, if it stays, why.</summary>
    public override string ToString() =>
        $"{Device} {Path} ({Format}, {ByteSize.Format(VirtualBytes)}, {ByteSize.Format(AllocatedBytes)} allocated)" + Disposition switch
        {
            DiskDisposition.ReadOnly => ": read-only, left alone",
            DiskDisposition.Shared => ": on shared storage, left alone",
            _ => "",
        };

    /// <summary>The disks of the VM behind <paramref name="qmp"/>, in QEMU's order; drives without a medium are not disks.</summary>
    public static async Task<IReadOnlyList<VmDisk>> ReadAsync(QmpClient qmp, CancellationToken cancel)
    {
        var blocks = await qmp.ExecuteAsync("query-block", null, cancel);
        var nodes = await qmp.ExecuteAsync("query-named-block-nodes", new { flat = true }, cancel);
        var localFiles = nodes.EnumerateArray()
            .Where(n => n.GetProperty("drv").GetString() is "file" or "host_device")
            .Select(n => n.GetProperty("file").GetString())
            .ToHashSet(StringComparer.Ordinal);
        var disks = new List<VmDisk>();
        foreach (var block in blocks.EnumerateArray())
        {
            if (!block.TryGetProperty("inserted", out var inserted)) continue;
            var drive = block.TryGetProperty("device", out var d) ? d.GetString() ?? "" : "";
            var nodeName = inserted.GetProperty("node-name").GetString() ?? "";
            var key = drive.Length > 0 ? drive : nodeName;
            var image = inserted.GetProperty("image");
            var file = inserted.GetProperty("file").GetString() ?? "";
            var disposition = inserted.GetProperty("ro").GetBoolean() ? DiskDisposition.ReadOnly
                : localFiles.Contains(file) && !QemuProperties.HasProtocol(file) ? DiskDisposition.Copy
                : DiskDisposition.Shared;
            disks.Add(new VmDisk(key, drive.Length > 0 ? drive : QdevName(block) ?? nodeName, file,
                image.GetProperty("format").GetString() ?? "raw", image.GetProperty("virtual-size").GetInt64(), Allocated(image), disposition));
        }
        return disks;
    }

    /// <summary>The guest device's id from its QOM path (<c>/machine/peripheral/disk0/virtio-backend</c> -> disk0).</summary>
    private static string? QdevName(JsonElement block)
    {
        if (!block.TryGetProperty("qdev", out var qdev) || qdev.GetString() is not { Length: > 0 } path) return null;
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 3 && parts[1] == "peripheral" ? parts[2] : path;
    }

    /// <summary>The image's allocation plus its backing files': a full mirror copies the whole chain into one image.</summary>
    private static long Allocated(JsonElement image)
    {
        var own = image.TryGetProperty("actual-size", out var size) ? size.GetInt64() : image.GetProperty("virtual-size").GetInt64();
        return own + (image.TryGetProperty("backing-image", out var backing) ? Allocated(backing) : 0);
    }
}
