using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Tests;

/// <summary>Readiness asks the destination's QEMU whether it knows the VM's machine type: which one the
/// arguments ask for, and the real binary's answer.</summary>
public sealed class QemuMachinesTests
{
    [Theory]
    [InlineData(new[] { "-machine", "pc" }, "pc")]
    [InlineData(new[] { "-M", "q35" }, "q35")]
    [InlineData(new[] { "-machine", "pc-q35-7.2,accel=kvm" }, "pc-q35-7.2")]
    [InlineData(new[] { "-machine", "accel=kvm,type=q35" }, "q35")]
    [InlineData(new[] { "-machine", "accel=kvm" }, null)]
    [InlineData(new[] { "-m", "512" }, null)]
    public void The_arguments_name_the_machine_type(string[] args, string? type) =>
        Assert.Equal(type, QemuMachines.Requested(args));

    [QemuFact]
    public async Task The_real_QEMU_knows_pc_and_not_a_made_up_type()
    {
        Assert.Null(await QemuMachines.ProblemAsync(QemuEnvironment.QemuBinary, ["-machine", "pc"], CancellationToken.None));
        Assert.Null(await QemuMachines.ProblemAsync(QemuEnvironment.QemuBinary, ["-m", "64"], CancellationToken.None));
        var problem = await QemuMachines.ProblemAsync(QemuEnvironment.QemuBinary, ["-machine", "pc-nonesuch-1.0"], CancellationToken.None);
        Assert.StartsWith("qemu-system-x86_64 here has no machine type 'pc-nonesuch-1.0'", problem);
    }
}
