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

            var e = await Assert.ThrowsAsync<MigrationException>(() => QemuInstance.StartAsync("broken-vm", line, QemuEnvironment.Policy(directory), "test", CancellationToken.None));

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
    public async Task Start_with_a_machine_QEMU_does_not_know_fails_with_QEMUs_own_message()
    {
        var directory = Directory.CreateTempSubdirectory("psmig-launch-").FullName;
        try
        {
            var line = new QemuCommandLine(QemuEnvironment.QemuBinary, ["-machine", "no-such-machine", "-nodefaults", "-display", "none"],
                Path.Combine(directory, "vm.qmp"), Path.Combine(directory, "vm.pid"));

            var e = await Assert.ThrowsAsync<MigrationException>(() => QemuInstance.StartAsync("broken-vm", line, QemuEnvironment.Policy(directory), "test", CancellationToken.None));

            Assert.Equal("QemuStartFailed", e.ErrorId);
            Assert.Contains("unsupported machine type", e.Message); // QEMU's own words
            Assert.Empty(QemuProcesses.Matching(directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Start_with_an_option_the_policy_refuses_starts_nothing_and_names_it()
    {
        var directory = Directory.CreateTempSubdirectory("psmig-launch-").FullName;
        try
        {
            var line = new QemuCommandLine("/usr/bin/qemu-system-x86_64", [.. BareQemu.Args, "-no-such-option"],
                Path.Combine(directory, "vm.qmp"), Path.Combine(directory, "vm.pid"));

            var e = await Assert.ThrowsAsync<MigrationException>(() => QemuInstance.StartAsync("odd-vm", line, QemuEnvironment.Policy(directory), "the agent of right", CancellationToken.None));

            Assert.Equal("QemuArgumentRefused", e.ErrorId);
            Assert.Contains("the agent of right refuses the qemu args of odd-vm", e.Message);
            Assert.Contains("'-no-such-option' is not an option the module lets a VM use", e.Message);
            Assert.Empty(Directory.GetFiles(directory));
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
            var qemu = await QemuInstance.StartAsync("vm", line, QemuEnvironment.Policy(directory), "test", CancellationToken.None);
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
