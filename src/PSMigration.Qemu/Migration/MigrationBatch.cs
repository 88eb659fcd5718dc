using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

namespace PSMigration.Qemu.Migration;

/// <summary>Runs several migrations at once, starting them in the order given, each as soon as its plan's limits let it:
/// fewer than <c>maxConcurrentOutgoing</c> running out of its source host (with parallel on, one at a time, so each gets
/// the link) and fewer than <c>maxConcurrentIncoming</c> into its destination. A move that must wait holds back the
/// ones after it, as <see cref="DrainPlanner"/> predicts. Just before a migration starts, <c>admit</c> may still turn it
/// down (a drain's destination that filled up meanwhile): it is Failed with that reason, without having started.
/// Cancelled, every migration still has its result: one that was waiting for its turn is Cancelled without having started.</summary>
internal static class MigrationBatch
{
    /// <param name="progressOf">The progress sink of the request at an index (its position in <paramref name="requests"/>).</param>
    /// <param name="migrate">How one VM migrates (<c>MigrationBackends.MigrateAsync</c>).</param>
    /// <param name="admit">Asked as each migration's turn comes: why it must not start now, or null.</param>
    public static async Task<IReadOnlyList<MigrationResult>> RunAsync(IReadOnlyList<MigrationRequest> requests,
        Func<MigrationRequest, IProgress<MigrationProgress>?, CancellationToken, Task<MigrationResult>> migrate,
        Func<MigrationRequest, int, IProgress<MigrationProgress>?> progressOf, Action<MigrationResult>? finished, CancellationToken cancel,
        Func<MigrationRequest, Exception?>? admit = null)
    {
        var results = new Task<MigrationResult>[requests.Count];
        var running = new List<(MigrationPlan Plan, Task Task)>();
        for (var index = 0; index < requests.Count; index++)
        {
            var request = requests[index];
            try
            {
                while (true)
                {
                    running.RemoveAll(r => r.Task.IsCompleted);
                    if (HasRoom(running, request.Plan)) break;
                    await Task.WhenAny(running.Select(r => r.Task)).WaitAsync(cancel);
                }
                cancel.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException)
            {
                var notStarted = new MigrationRun(request, null).Failure(new OperationCanceledException(cancel), cancelled: true);
                finished?.Invoke(notStarted);
                results[index] = Task.FromResult(notStarted);
                continue;
            }
            if (admit?.Invoke(request) is { } refused)
            {
                var turnedDown = new MigrationRun(request, null).Failure(refused, cancelled: false);
                finished?.Invoke(turnedDown);
                results[index] = Task.FromResult(turnedDown);
                continue;
            }
            results[index] = RunOneAsync(request, progressOf(request, index));
            running.Add((request.Plan, results[index]));
        }
        return await Task.WhenAll(results);

        async Task<MigrationResult> RunOneAsync(MigrationRequest request, IProgress<MigrationProgress>? progress)
        {
            await Task.Yield(); // the loop goes on to the next request while this one runs
            var result = await migrate(request, progress, cancel);
            finished?.Invoke(result);
            return result;
        }
    }

    private static bool HasRoom(List<(MigrationPlan Plan, Task Task)> running, MigrationPlan plan)
    {
        var names = MigrationInventory.NameComparer;
        return (plan.MaxConcurrentOutgoing is not { } outgoing || running.Count(r => names.Equals(r.Plan.SourceHost, plan.SourceHost)) < outgoing)
            && (plan.MaxConcurrentIncoming is not { } incoming || running.Count(r => names.Equals(r.Plan.DestinationHost, plan.DestinationHost)) < incoming);
    }
}
