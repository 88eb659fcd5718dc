using System.Xml.Linq;
using PSMigration.Qemu.Storage;

namespace PSMigration.Qemu.Libvirt;

/// <summary>A domain's disks from its live XML: each <c>&lt;disk&gt;</c> by its target (vda), its image and format, and
/// what a copy-storage migration does with it: copies a writable file or block disk (libvirt's own
/// --copy-storage-all rule), leaves read-only (CD-ROMs), shareable and network disks alone.</summary>
internal static class LibvirtDisks
{
    public static IReadOnlyList<VmDisk> Read(LibvirtDomain domain)
    {
        var disks = new List<VmDisk>();
        foreach (var disk in XDocument.Parse(domain.XmlDescription).Descendants("devices").Elements("disk"))
        {
            var target = disk.Element("target")?.Attribute("dev")?.Value;
            var source = disk.Element("source");
            var path = source?.Attribute("file")?.Value ?? source?.Attribute("dev")?.Value;
            if (target is null || (path is null && disk.Attribute("type")?.Value != "network")) continue; // an empty drive
            var type = disk.Attribute("type")?.Value;
            var disposition = disk.Element("readonly") is not null || disk.Attribute("device")?.Value is "cdrom" or "floppy" ? DiskDisposition.ReadOnly
                : disk.Element("shareable") is not null || type is not ("file" or "block") ? DiskDisposition.Shared
                : DiskDisposition.Copy;
            var (capacity, allocation) = disposition == DiskDisposition.Copy ? domain.BlockInfo(target) : (0, 0);
            disks.Add(new VmDisk(target, target, path ?? source?.Attribute("name")?.Value ?? "(network)",
                disk.Element("driver")?.Attribute("type")?.Value ?? "raw", capacity, allocation, disposition));
        }
        return disks;
    }
}
