using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Tests;

/// <summary>A VM's QEMU command line: the options the module owns are refused in the inventory's
/// arguments, and the module adds them itself.</summary>
public sealed class QemuCommandLineTests
{
    [Theory]
    [InlineData("-incoming")]
    [InlineData("--incoming")]
    [InlineData("-qmp")]
    [InlineData("--qmp")]
    [InlineData("-qmp-pretty")]
    [InlineData("-daemonize")]
    [InlineData("-pidfile")]
    [InlineData("-monitor")]
    [InlineData("-nographic")]
    public void Reserved_options_are_refused_naming_the_vm_and_the_option(string option)
    {
        var e = Assert.Throws<MigrationException>(() => QemuCommandLine.CheckArgs("web01", ["-m", "512", option, "x"]));

        Assert.Equal("QemuArgsReserved", e.ErrorId);
        Assert.Equal(FailureKind.InvalidInput, e.Kind);
        Assert.Contains("web01", e.Message);
        Assert.Contains($"'{option}'", e.Message);
    }

    [Fact]
    public void Ordinary_arguments_pass_even_when_they_look_alike()
    {
        // values and longer options that merely start like a reserved one are not options the module owns
        QemuCommandLine.CheckArgs("web01", ["-m", "512", "-serial", "file:/tmp/incoming.log", "-incoming-not", "-name", "qmp"]);
    }

    [Fact]
    public void Twin_command_line_adds_qmp_daemonize_and_incoming_defer()
    {
        var line = new QemuCommandLine("/usr/bin/qemu-system-x86_64", ["-m", "128"], "/run/x/vm.qmp", "/run/x/vm.pid") { Incoming = true };

        Assert.Equal(["-m", "128", "-qmp", "unix:/run/x/vm.qmp,server=on,wait=off", "-daemonize", "-pidfile", "/run/x/vm.pid", "-S", "-incoming", "defer"],
            line.Arguments);
    }
}
