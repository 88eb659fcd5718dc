using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Launch;
using PSMigration.Qemu.Storage;

namespace PSMigration.Qemu.Tests;

/// <summary>What the destination checks before it creates an image for a disk it is to receive: the disk has a place
/// in its own command line (-drive or -blockdev), of the same format, inside its roots, where no file is yet, on a
/// filesystem with room; every problem is named at once. Real files in a temp folder; nothing is created.</summary>
public sealed class IncomingDisksTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("psmig-disks-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private HostPathRoots Roots => new([root]);

    [Fact]
    public void A_drive_and_a_blockdev_disk_are_found_by_their_id_and_node_name()
    {
        string[] args =
        [
            "-drive", $"file={root}/a.qcow2,format=qcow2,id=disk0,if=virtio",
            "-blockdev", $"driver=file,filename={root}/b.raw,node-name=bfile", "-blockdev", "driver=raw,file=bfile,node-name=disk1",
            "-blockdev", $"driver=qcow2,file.driver=file,file.filename={root}/c.qcow2,node-name=disk2,backing=",
        ];

        Assert.Equal(($"{root}/a.qcow2", "qcow2"), TwinDiskImages.Find(args, "disk0"));
        Assert.Equal(($"{root}/b.raw", "raw"), TwinDiskImages.Find(args, "disk1"));
        Assert.Equal(($"{root}/c.qcow2", "qcow2"), TwinDiskImages.Find(args, "disk2"));
        Assert.Null(TwinDiskImages.Find(args, "disk3"));
    }

    [Fact]
    public void Every_reason_not_to_create_the_images_is_named_and_nothing_is_created()
    {
        File.WriteAllText(Path.Combine(root, "there.qcow2"), "an operator's file");
        string[] args =
        [
            "-drive", $"file={root}/there.qcow2,format=qcow2,id=exists",
            "-drive", "file=/etc/psmig-outside.qcow2,format=qcow2,id=outside",
            "-drive", $"file={root}/raw.img,format=raw,id=otherformat",
        ];
        DiskToCopy[] disks =
        [
            new("exists", "qcow2", 1 << 20, 0), new("outside", "qcow2", 1 << 20, 0), new("otherformat", "qcow2", 1 << 20, 0), new("missing", "raw", 1 << 20, 0),
        ];

        var e = Assert.Throws<MigrationException>(() => IncomingDisks.Plan("web01", "the agent of kvm02", disks, args, Roots));

        Assert.Equal("DiskCopyRefused", e.ErrorId);
        Assert.StartsWith("the agent of kvm02 cannot receive web01's disks: ", e.Message);
        Assert.Contains($"{root}/there.qcow2 (disk 'exists') exists already", e.Message);
        Assert.Contains("disk 'outside': '/etc/psmig-outside.qcow2' is outside the agent's roots", e.Message);
        Assert.Contains("disk 'otherformat' is raw here, qcow2 at the source", e.Message);
        Assert.Contains("no image for disk 'missing'", e.Message);
        Assert.Equal("an operator's file", File.ReadAllText(Path.Combine(root, "there.qcow2")));
        Assert.Single(Directory.GetFiles(root));
    }

    [Fact]
    public void More_than_the_filesystem_holds_is_refused_naming_the_folder_and_both_sizes()
    {
        string[] args = ["-drive", $"file={root}/new/big.qcow2,format=qcow2,id=disk0"];
        var free = new DriveInfo(root).AvailableFreeSpace;

        var e = Assert.Throws<MigrationException>(() =>
            IncomingDisks.Plan("web01", "the agent of kvm02", [new DiskToCopy("disk0", "qcow2", free * 4, free * 2)], args, Roots));

        Assert.Contains($"{root} has ", e.Message);
        Assert.Contains($"free, and {root}/new/big.qcow2 need ", e.Message);
        Assert.False(Directory.Exists(Path.Combine(root, "new")));
    }

    [Theory]
    [InlineData("nbd+unix:///?socket=/run/psmig/web01.1.twin/nbd")]
    [InlineData("nbd://192.0.2.7:10809")]
    [InlineData("nbd://[2001:db8::7]:10809")]
    public void An_NBD_address_reads_back_as_written(string text) =>
        Assert.Equal(text, NbdAddress.Parse(text)!.ToString());
}
