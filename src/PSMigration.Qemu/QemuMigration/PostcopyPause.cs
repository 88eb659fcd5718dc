using System.Diagnostics;
using PSMigration.Core.Diagnostics;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.QemuMigration;

/// <summary>Brings one end of a broken post-copy stream to postcopy-paused, where QEMU can recover it: QEMU pauses by
/// itself when its connection fails, but a stream that only stalls (a link down, not reset) it must be told to
/// (migrate-pause). The same on both ends, source and destination.</summary>
internal static class PostcopyPause
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    /// <param name="where">The host, for the errors.</param>
    public static async Task EnsureAsync(QmpClient qmp, string vm, string where, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var asked = false;
        while (true)
        {
            var status = QemuMigrationStatus.Parse(await qmp.ExecuteAsync("query-migrate", null, cancel)).Status;
            switch (status)
            {
                case "postcopy-paused":
                    return;
                case "completed":
                    throw new MigrationException("NothingToRecover", FailureKind.OperationFailed,
                        $"{vm}'s post-copy on {where} has completed: there is nothing to recover", vm);
                case "postcopy-active" when !asked:
                    asked = true;
                    try
                    {
                        await qmp.ExecuteAsync("migrate-pause", null, cancel);
                    }
                    catch (QmpException e) when (e.ErrorId == "QmpCommandFailed")
                    {
                        // it paused by itself meanwhile (its connection closed): the next query says so
                    }
                    break;
                case "postcopy-active" or "postcopy-recover": // paused on its way, or an earlier recovery still trying
                    break;
                default:
                    throw new MigrationException("PostcopyNotPaused", FailureKind.OperationFailed,
                        $"{vm}'s migration on {where} is '{status}', not in post-copy: it cannot be recovered", vm);
            }
            if (clock.Elapsed > Settle)
                throw new MigrationException("PostcopyNotPaused", FailureKind.OperationFailed,
                    $"{vm}'s post-copy on {where} did not pause within {Settle.TotalSeconds:0} s (it is '{status}')", vm);
            await Task.Delay(50, cancel);
        }
    }
}
