using System.Diagnostics;
using PSMigration.Engine.Security;

namespace PSMigration.Lab.Tests;

/// <summary>
/// A real libvirtd (Debian's packages) for each lab host, started by <c>tests/lab/libvirtd-host.sh</c>
/// inside the host's network namespace and a private mount namespace: each host has its own
/// /run/libvirt, libvirt state, QEMU migration TLS credentials (from the cluster PKI) and
/// /run/psmigration. psmig and the agents run inside the same namespaces, as they would on a host.
/// Dispose destroys and undefines every domain, then stops the daemons.
/// </summary>
public sealed class LabLibvirt : IDisposable
{
    public static readonly string[] Tools = ["qemu-system-x86_64", "gcc", "libvirtd", "virsh", "nsenter"];
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly LabFixture lab;
    private readonly string folder;
    private readonly Dictionary<LabHost, LabProcess> daemons = new();

    public LabLibvirt(LabFixture lab, string folder, string pki)
    {
        LabEnvironment.EnsureAvailable(Tools);
        this.lab = lab;
        this.folder = folder;
        foreach (var host in new[] { LabHost.A, LabHost.B })
        {
            var name = LabAddresses.Name(host);
            foreach (var role in new[] { "server", "client" })
                ClusterPki.ExportForGnuTls(pki, name, Path.Combine(State(host), "pki"), role);
            daemons[host] = lab.StartProcess(host, "bash", Path.Combine(Path.GetDirectoryName(LabEnvironment.LabScript)!, "libvirtd-host.sh"),
                State(host), LabAddresses.Of(host, LabLink.Mig));
        }
        foreach (var host in daemons.Keys) WaitUntilServing(host);
    }

    /// <summary>How libvirt daemons reach this host's (the inventory's host <c>libvirt.uri</c>).</summary>
    public static string Uri(LabHost host) => $"qemu+tcp://{LabAddresses.Of(host, LabLink.Mig)}/system";

    public string State(LabHost host) => Path.Combine(folder, "libvirt-" + LabAddresses.Name(host));

    /// <summary>The host's /run/psmigration, as seen from outside its namespace.</summary>
    public string RunDirectory(LabHost host) => Path.Combine(State(host), "psmig");

    public string TlsDirectory(LabHost host) => Path.Combine(State(host), "pki");

    /// <summary>A command line that runs inside the host's mount namespace (add the network namespace with <see cref="LabFixture"/>).</summary>
    public string[] Inside(LabHost host, params string[] command) =>
        ["nsenter", $"--mount=/proc/{File.ReadAllText(Path.Combine(State(host), "run", "libvirtd.pid")).Trim()}/ns/mnt", "--", .. command];

    public ExecResult Virsh(LabHost host, params string[] args) => lab.Exec(host, ["virsh", "-c", Uri(host), .. args]);

    /// <summary>Names of the domains defined or running on the host.</summary>
    public IReadOnlyList<string> Domains(LabHost host) =>
        Virsh(host, "list", "--all", "--name").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Defines the test guest as a persistent domain on the host and starts it. Its serial log is
    /// /run/psmigration/NAME.serial on whichever host it runs (appended to, never truncated).</summary>
    /// <param name="diskMiB">When above 0, a local qcow2 disk vda at /run/psmigration/NAME.qcow2, made first with a
    /// pattern over its first half.</param>
    public void StartDomain(LabHost host, string name, string kernel, int memoryMiB, int dirtyMiBps, int diskMiB = 0)
    {
        if (diskMiB > 0)
        {
            var image = Path.Combine(RunDirectory(host), name + ".qcow2");
            foreach (var tool in new[] { new[] { "qemu-img", "create", "-q", "-f", "qcow2", image, $"{diskMiB}M" }, ["qemu-io", "-c", $"write -P 0x5a 0 {diskMiB / 2}M", image] })
                if (lab.Exec(host, tool) is { ExitCode: not 0 } failed) throw new InvalidOperationException($"{string.Join(' ', tool)}: {failed}");
        }
        var disk = diskMiB > 0
            ? $"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/run/psmigration/{name}.qcow2'/><target dev='vda' bus='virtio'/></disk>"
            : "";
        var xml = Path.Combine(folder, name + ".xml");
        File.WriteAllText(xml, $"""
            <domain type='kvm'>
              <name>{name}</name>
              <memory unit='MiB'>{memoryMiB}</memory>
              <vcpu>1</vcpu>
              <os>
                <type arch='x86_64' machine='pc'>hvm</type>
                {(File.Exists("/usr/share/qemu/qboot.rom") ? "<loader type='rom'>/usr/share/qemu/qboot.rom</loader>" : "")}
                <kernel>{kernel}</kernel>
                <cmdline>dirty={dirtyMiBps}</cmdline>
              </os>
              <on_reboot>destroy</on_reboot>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                {disk}
                <serial type='file'><source path='/run/psmigration/{name}.serial' append='on'/><target port='0'/></serial>
                <memballoon model='none'/>
              </devices>
            </domain>
            """);
        foreach (var step in new[] { new[] { "define", xml }, ["start", name] })
        {
            var result = Virsh(host, step);
            if (result.ExitCode != 0) throw new InvalidOperationException($"virsh {string.Join(' ', step)} on {LabAddresses.Name(host)}: {result}");
        }
    }

    /// <summary>A directory pool over the host's /run/psmigration, where libvirt creates the images of a copy-storage
    /// migration (as it does on a host whose images live in a pool). Transient: it goes with the daemon, and nothing is
    /// written to the machine's /etc/libvirt, which the lab's daemons share.</summary>
    public void CreatePool(LabHost host)
    {
        if (Virsh(host, "pool-create-as", "psmig", "dir", "--target", "/run/psmigration") is { ExitCode: not 0 } failed)
            throw new InvalidOperationException($"virsh pool-create-as on {LabAddresses.Name(host)}: {failed}");
    }

    private void WaitUntilServing(LabHost host)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (File.Exists(Path.Combine(State(host), "run", "libvirtd.pid")) && Virsh(host, "version").ExitCode == 0) return;
            if (daemons[host].HasExited || clock.Elapsed > StartTimeout)
                throw new InvalidOperationException($"libvirtd of {LabAddresses.Name(host)} did not start: {daemons[host].Stderr}");
            Thread.Sleep(200);
        }
    }

    public void Dispose()
    {
        foreach (var host in daemons.Keys)
        {
            try
            {
                foreach (var domain in Domains(host))
                {
                    Virsh(host, "destroy", domain);
                    Virsh(host, "undefine", domain);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                // lab.sh down kills whatever is left in the namespaces
            }
            daemons[host].Dispose();
        }
    }
}
