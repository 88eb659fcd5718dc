using PSMigration.Qemu.Libvirt;

namespace PSMigration.Qemu.Migration;

/// <summary>Migrates a VM with the driver of the backend that manages it: QEMU (QMP) or libvirt.</summary>
public static class MigrationDriver
{
    public static Task<MigrationResult> MigrateAsync(MigrationRequest request, IProgress<MigrationProgress>? progress, CancellationToken cancel) =>
        request.Vm.Libvirt is not null
            ? LibvirtMigrationDriver.MigrateAsync(request, progress, cancel)
            : QemuMigrationDriver.MigrateAsync(request, progress, cancel);
}
