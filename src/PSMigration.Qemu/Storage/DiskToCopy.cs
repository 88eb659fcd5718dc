namespace PSMigration.Qemu.Storage;

/// <summary>A disk the source asks the destination to receive: which one (<see cref="VmDisk.Key"/>), and what the
/// destination's image must be like (format, virtual size) and hold (allocated size, for the free-space check).</summary>
public sealed record DiskToCopy(string Key, string Format, long VirtualBytes, long AllocatedBytes)
{
    public static DiskToCopy Of(VmDisk disk) => new(disk.Key, disk.Format, disk.VirtualBytes, disk.AllocatedBytes);

    /// <summary>Values no source would send.</summary>
    public string? Problem() =>
        Key is not { Length: > 0 and <= 128 } ? "a disk without a name, or one longer than 128 characters"
        : Format is not ("raw" or "qcow2") ? $"disk {Key}: format '{Format}' (raw or qcow2)"
        : VirtualBytes <= 0 || AllocatedBytes < 0 ? $"disk {Key}: sizes {VirtualBytes}/{AllocatedBytes}"
        : null;
}
