using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Tests;

/// <summary>Starting a real QEMU: one that cannot start fails with its own message; stopping it leaves nothing.</summary>
[Collection(QemuLabCollection.Name)]
public sealed class QemuLaunchTests
{
    [QemuFact]
    public async Task Start_with_a_missing_kernel_fails_with_QEMUs_own_message()
    {
        var directory = Directory.CreateTempSubdirectory("psmig-launch-").FullName;
        try
        {
            var kernel = Path.Combine(directory, "no-such-kernel.elf");
            var line = new QemuCommandLine(QemuEnvironment.QemuBinary, ["-machine", "pc", "-nodefaults", "-display", "none", "-kernel", kernel],
                Path.Combine(directory, "vm.qmp"), Path.Combine(directory, "vm.pid"));

            var e = await Assert.ThrowsAsync<MigrationException>(() => QemuInstance.StartAsync("broken-vm", line, CancellationToken.None));

            Assert.Equal("QemuStartFailed", e.ErrorId);
            Assert.Contains("broken-vm", e.Message);
            Assert.Contains(kernel, e.Message); // QEMU's "could not open kernel file '...'"
            Assert.Empty(QemuProcesses.Matching(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [QemuFact]
    public async Task Start_with_an_unknown_option_fails_with_QEMUs_own_message()
    {
        var directory = Directory.CreateTempSubdirectory("psmig-launch-").FullName;
        try
        {
            var line = new QemuCommandLine(QemuEnvironment.QemuBinary, [.. BareQemu.Args, "-no-such-option"],
                Path.Combine(directory, "vm.qmp"), Path.Combine(directory, "vm.pid"));

            var e = await Assert.ThrowsAsync<MigrationException>(() => QemuInstance.StartAsync("broken-vm", line, CancellationToken.None));

            Assert.Equal("QemuStartFailed", e.ErrorId);
            Assert.Contains("-no-such-option", e.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [QemuFact]
    public async Task Stop_quits_qemu_and_removes_its_socket_and_pid_file()
    {
        var directory = Directory.CreateTempSubdirectory("psmig-launch-").FullName;
        try
        {
            var line = new QemuCommandLine(QemuEnvironment.QemuBinary, BareQemu.Args, Path.Combine(directory, "vm.qmp"), Path.Combine(directory, "vm.pid"));
            var qemu = await QemuInstance.StartAsync("vm", line, CancellationToken.None);
            Assert.True(QemuInstance.IsAlive(qemu.Pid));

            await qemu.StopAsync();

            Assert.False(QemuInstance.IsAlive(qemu.Pid));
            Assert.False(File.Exists(line.QmpPath));
            Assert.False(File.Exists(line.PidFile));
        }
        finally
        {
            await QemuProcesses.KillAllAsync(directory);
            Directory.Delete(directory, recursive: true);
        }
    }
}
