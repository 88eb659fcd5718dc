using System.Diagnostics;
using PSMigration.Cli.Demo;
using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Tests;

/// <summary>What the module lets a QEMU it starts do: the arguments real VMs use pass; every option that runs a program,
/// passes a descriptor, hands over a host device or loosens the confinement is refused, saying why; every host path
/// must resolve (links and '..' followed) under the roots.</summary>
public sealed class QemuArgumentPolicyTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("psmig-policy-").FullName;
    private readonly string elsewhere = Directory.CreateTempSubdirectory("psmig-outside-").FullName;

    private QemuArgumentPolicy Policy => new(HostPathRoots.For(Path.Combine(root, "run"), [root]));

    [Fact]
    public void The_arguments_of_real_VMs_pass()
    {
        string[] args =
        [
            .. TestGuest.Args(Path.Combine(root, "guest.elf"), 128, 10, Path.Combine(root, "run", "vm.serial")),
            "-accel", "kvm", "-m", "32768", "-smp", "8,sockets=1", "-cpu", "host,+vmx", "-name", "web01,debug-threads=on", "-enable-kvm",
            "-drive", $"file={root}/disks/web01.qcow2,format=qcow2,if=virtio,cache=none",
            "-drive", $"file={root}/disks/data.img,format=raw,if=none,id=d1", "-device", "virtio-blk-pci,drive=d1",
            "-drive", "if=ide,media=cdrom",
            "-blockdev", $"driver=file,node-name=f1,filename={root}/disks/b.qcow2", "-blockdev", "driver=qcow2,node-name=q1,file=f1,backing=null",
            "-netdev", "tap,id=n0,ifname=tap-web01,script=no,downscript=no,vhost=on", "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
            "-netdev", "user,id=u0,hostfwd=tcp::2222-:22", "-nic", "user,model=virtio-net-pci",
            "-object", $"memory-backend-file,id=mem,size=1G,mem-path={root}/hugepages,share=on", "-numa", "node,memdev=mem",
            "-object", "rng-random,id=rng,filename=/dev/urandom", "-device", "virtio-rng-pci,rng=rng",
            "-chardev", $"socket,id=c0,path={root}/run/web01.console,server=on,wait=off", "-serial", "chardev:c0",
            "-serial", "tcp:127.0.0.1:4555,server=on,wait=off", "-vnc", $"unix:{root}/run/web01.vnc", "-display", "none",
            "-global", "kvm-pit.lost_tick_policy=delay", "-rtc", "base=utc", "-boot", "order=c", "-append", "console=ttyS0 root=/dev/vda",
        ];

        Assert.Empty(Policy.Problems(args));
    }

    [Theory]
    [InlineData("-netdev|tap,id=n,ifname=t0,script=/usr/local/bin/up,downscript=no", "script= runs a program on the host")]
    [InlineData("-netdev|tap,id=n,ifname=t0", "without script=no,downscript=no runs /etc/qemu-ifup as root")]
    [InlineData("-netdev|bridge,id=b,br=br0", "runs qemu-bridge-helper")]
    [InlineData("-netdev|user,id=u,smb=/srv", "smb= runs a program on the host")]
    [InlineData("-netdev|user,id=u,guestfwd=tcp:10.0.2.100:1234-cmd:/bin/sh", "cmd: runs a program on the host")]
    [InlineData("-netdev|tap,id=n,fd=3", "fd= passes a file descriptor")]
    [InlineData("-plugin|file=/tmp/evil.so", "a TCG plugin is a shared library QEMU loads")]
    [InlineData("-sandbox|off", "the module confines QEMU itself")]
    [InlineData("-runas|root", "--twin-user decides which user QEMU runs as")]
    [InlineData("-chroot|/", "the agent decides how QEMU is confined")]
    [InlineData("-add-fd|fd=3,set=1", "passes a file descriptor the agent does not hold")]
    [InlineData("-readconfig|/etc/qemu.cfg", "a config file would add options")]
    [InlineData("-s", "a gdb server gives whoever connects the whole guest")]
    [InlineData("-fsdev|local,id=f,path=/,security_model=none", "it shares a host directory with the guest")]
    [InlineData("-incoming|defer", "the module sets it itself")]
    [InlineData("-monitor|stdio", "the module owns the monitor")]
    [InlineData("-daemonize", "the module starts QEMU itself")]
    [InlineData("-chardev|file,id=pw,path=/etc/shadow", "'/etc/shadow' is outside the agent's roots")]
    [InlineData("-chardev|stdio,id=s", "chardev backend 'stdio' is not one the module runs")]
    [InlineData("-serial|file:/root/leak", "'/root/leak' is outside the agent's roots")]
    [InlineData("-serial|/dev/ttyS0", "is a host device or terminal")]
    [InlineData("-serial|mon:stdio", "QEMU's monitor on the serial line")]
    [InlineData("-drive|file=/etc/hostname,format=raw", "'/etc/hostname' is outside the agent's roots")]
    [InlineData("-drive|file=/dev/sda,format=raw,if=virtio", "'/dev/sda' is outside the agent's roots")]
    [InlineData("-drive|file=ROOT/disk.img,if=virtio", "set format=raw or format=qcow2")]
    [InlineData("-drive|file=ROOT/disk.vmdk,format=vmdk", "only raw and qcow2")]
    [InlineData("-drive|file=nbd:127.0.0.1:10809,format=raw", "a protocol (nbd:, json:...) is not a host path")]
    [InlineData("-drive|file=json:{\"file.filename\":\"/etc/shadow\"},format=raw", "a protocol (nbd:, json:...) is not a host path")]
    [InlineData("-blockdev|{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}", "the JSON form is not checked")]
    [InlineData("-blockdev|driver=host_device,node-name=h,filename=/dev/sda", "driver=host_device: only")]
    [InlineData("-blockdev|driver=file,node-name=f,filename=/etc/shadow", "'/etc/shadow' is outside the agent's roots")]
    [InlineData("-blockdev|driver=qcow2,node-name=q,file=f", "set backing= (a node-name, or null)")]
    [InlineData("-object|memory-backend-file,id=m,size=1M,mem-path=/etc/shadow,share=on", "'/etc/shadow' is outside the agent's roots")]
    [InlineData("-object|tls-creds-x509,id=t,dir=/etc/pki", "object 'tls-creds-x509' is not one the module runs")]
    [InlineData("-object|secret,id=s,file=/etc/shadow", "'/etc/shadow' is outside the agent's roots")]
    [InlineData("-device|vfio-pci,host=0000:01:00.0", "'vfio-pci' gives the guest a host device")]
    [InlineData("-device|usb-host,hostbus=1,hostaddr=2", "'usb-host' gives the guest a host device")]
    [InlineData("-device|virtio-net-pci,netdev=n,romfile=/etc/passwd", "'/etc/passwd' is outside the agent's roots")]
    [InlineData("-device|loader,file=/etc/shadow,addr=0x1000", "'/etc/shadow' is outside the agent's roots")]
    [InlineData("-global|virtio-net-pci.romfile=/etc/passwd", "'/etc/passwd' is outside the agent's roots")]
    [InlineData("-machine|pc,dumpdtb=/etc/motd", "'/etc/motd' is outside the agent's roots")]
    [InlineData("-kernel|ROOT/../../etc/passwd", "is outside the agent's roots")]
    [InlineData("-kernel|guest.elf", "'guest.elf' is a relative path")]
    [InlineData("-bios|/etc/passwd", "'/etc/passwd' is outside the agent's roots")]
    [InlineData("-display|gtk", "the VM runs headless")]
    [InlineData("-vnc|unix:/tmp/vnc.sock", "'/tmp/vnc.sock' is outside the agent's roots")]
    [InlineData("-no-such-option", "'-no-such-option' is not an option the module lets a VM use")]
    [InlineData("ROOT/disk.img", "is not an option")]
    [InlineData("-kernel", "'-kernel' needs a value")]
    public void A_dangerous_argument_is_refused_saying_why(string joined, string reason)
    {
        var args = joined.Replace("ROOT", root, StringComparison.Ordinal).Split('|');

        var e = Assert.Throws<MigrationException>(() => Policy.Check("web01", "the agent of kvm02", ["-m", "128", .. args]));

        Assert.Equal("QemuArgumentRefused", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.StartsWith("the agent of kvm02 refuses the qemu args of web01: ", e.Message);
        Assert.Contains(reason, e.Message);
        Assert.Contains($"'{args[0]}", e.Message); // names the argument
    }

    [Fact]
    public void A_link_planted_under_a_root_does_not_lead_out()
    {
        File.CreateSymbolicLink(Path.Combine(root, "etc"), "/etc");

        var problems = Policy.Problems(["-kernel", Path.Combine(root, "etc", "passwd"), "-serial", $"file:{root}/etc/new-file"]);

        Assert.Equal(2, problems.Count);
        Assert.Contains("(resolved: /etc/passwd) is outside the agent's roots", problems[0]);
        Assert.Contains("(resolved: /etc/new-file) is outside the agent's roots", problems[1]); // a file yet to be created, too
    }

    [Fact]
    public void Climbing_out_of_a_folder_that_does_not_exist_yet_is_refused()
    {
        var problems = Policy.Problems(["-serial", $"file:{root}/not-yet/../../../etc/cron.d/x"]);

        Assert.Contains(problems, p => p.Contains("leaves through '..' below a folder that does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_problem_is_listed_at_once()
    {
        var e = Assert.Throws<MigrationException>(() =>
            Policy.Check("web01", "the agent of kvm02", ["-plugin", "file=/x.so", "-m", "128", "-drive", "file=/etc/hostname,format=raw", "-s"]));

        Assert.Contains("'-plugin'", e.Message);
        Assert.Contains("'/etc/hostname'", e.Message);
        Assert.Contains("'-s'", e.Message);
    }

    [QemuFact]
    public void A_qcow2_image_whose_backing_file_is_outside_the_roots_is_refused()
    {
        var outside = Path.Combine(elsewhere, "base.raw");
        File.WriteAllBytes(outside, new byte[1 << 20]);
        var overlay = Path.Combine(root, "overlay.qcow2");
        QemuImg("create", "-f", "qcow2", "-F", "raw", "-b", outside, overlay);
        var inside = Path.Combine(root, "inside.qcow2");
        QemuImg("create", "-f", "qcow2", "-F", "qcow2", "-b", overlay, inside);

        Assert.Contains(Policy.Problems(["-drive", $"file={overlay},format=qcow2"]), p => p.Contains($"opens '{outside}' is outside the agent's roots", StringComparison.Ordinal));
        Assert.Contains(Policy.Problems(["-drive", $"file={inside},format=qcow2"]), p => p.Contains($"'{outside}'", StringComparison.Ordinal)); // two layers down
        File.Move(outside, Path.Combine(root, "base.raw"));
        QemuImg("rebase", "-u", "-f", "qcow2", "-F", "raw", "-b", Path.Combine(root, "base.raw"), overlay);
        Assert.Empty(Policy.Problems(["-drive", $"file={inside},format=qcow2"]));
    }

    private static void QemuImg(params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo("qemu-img", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"qemu-img {string.Join(' ', args)}: {errors}");
    }

    public void Dispose()
    {
        Directory.Delete(root, recursive: true);
        Directory.Delete(elsewhere, recursive: true);
    }
}
