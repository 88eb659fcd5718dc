using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Tests;

/// <summary>A VM's QEMU command line: the module adds the QMP socket, the pid file and the confinement itself.</summary>
public sealed class QemuCommandLineTests
{
    [Fact]
    public void Twin_command_line_adds_qmp_pidfile_the_sandbox_and_incoming_defer_and_never_daemonizes()
    {
        var line = new QemuCommandLine("/usr/bin/qemu-system-x86_64", ["-m", "128"], "/run/x/vm.qmp", "/run/x/vm.pid") { Incoming = true };

        Assert.Equal(["-m", "128", "-qmp", "unix:/run/x/vm.qmp,server=on,wait=off", "-pidfile", "/run/x/vm.pid",
            "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", "-S", "-incoming", "defer"], line.Arguments);
        Assert.Equal("/run/x/vm.log", line.LogFile);
    }

    [Fact]
    public void A_twin_user_adds_runas_and_keeps_every_other_sandbox_rule()
    {
        var line = new QemuCommandLine("/usr/bin/qemu-system-x86_64", ["-m", "128"], "/run/x/vm.qmp", "/run/x/vm.pid") { RunAs = "psmig-twin" };

        var arguments = line.Arguments.ToList();
        Assert.Equal("psmig-twin", arguments[arguments.IndexOf("-runas") + 1]);
        // QEMU drops to the user after the filter is on: set*uid stays allowed, fork, exec and the rest do not
        Assert.Equal("on,obsolete=deny,spawn=deny,resourcecontrol=deny", arguments[arguments.IndexOf("-sandbox") + 1]);
        Assert.DoesNotContain("-daemonize", arguments);
    }
}
