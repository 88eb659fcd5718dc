using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Libvirt;
using PSMigration.Qemu.Migration;
using PSMigration.Qemu.QemuMigration;

namespace PSMigration.Qemu;

/// <summary>
/// The one place that knows the backends: a VM with a <c>libvirt</c> section moves through libvirt, one with a
/// <c>qemu</c> section over its QMP socket; both through <see cref="MigrationFlow"/>. The rest of the module migrates
/// and describes through here and imports neither backend.
/// </summary>
public static class MigrationBackends
{
    /// <summary>Live-migrates the request's VM. Failures are results (Failed or Cancelled, with the error's id), not exceptions.</summary>
    public static async Task<MigrationResult> MigrateAsync(MigrationRequest request, IProgress<MigrationProgress>? progress, CancellationToken cancel)
    {
        var run = new MigrationRun(request, progress);
        IMigrationBackend backend;
        try
        {
            backend = For(request, run);
        }
        catch (MigrationException e)
        {
            return run.Failure(e, cancelled: false);
        }
        await using (backend)
            return await MigrationFlow.MigrateAsync(request, backend, run, cancel);
    }

    /// <summary>What <see cref="MigrateAsync"/> would do, step by step, for -WhatIf and <c>psmig migrate --what-if</c>.</summary>
    public static IReadOnlyList<string> Describe(MigrationRequest request)
    {
        try
        {
            return MigrationFlow.Describe(request, For(request, new MigrationRun(request, null)));
        }
        catch (MigrationException e)
        {
            return [e.Message];
        }
    }

    private static IMigrationBackend For(MigrationRequest request, MigrationRun run) => request.Vm switch
    {
        { Libvirt: not null } => new LibvirtMigrationBackend(request, run),
        { Qemu: not null } => new QemuMigrationBackend(request, run),
        var vm => throw new MigrationException("VMBackendUnknown", FailureKind.InvalidInput,
            $"{vm.Name} has neither a qemu nor a libvirt section in the inventory: psmig does not know how to reach it", vm.Name),
    };
}
