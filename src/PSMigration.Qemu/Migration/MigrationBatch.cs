namespace PSMigration.Qemu.Migration;

/// <summary>Runs several migrations at once, but never more out of one source host than its plans
/// allow (<c>maxConcurrentOutgoing</c>: with parallel on, one at a time, so each gets the link). Cancelled,
/// every migration still has its result: one that was waiting for its turn is Cancelled without having started.</summary>
internal static class MigrationBatch
{
    /// <param name="progressOf">The progress sink of the request at an index (its position in <paramref name="requests"/>).</param>
    /// <param name="migrate">How one VM migrates (<c>MigrationBackends.MigrateAsync</c>).</param>
    public static async Task<IReadOnlyList<MigrationResult>> RunAsync(IReadOnlyList<MigrationRequest> requests,
        Func<MigrationRequest, IProgress<MigrationProgress>?, CancellationToken, Task<MigrationResult>> migrate,
        Func<MigrationRequest, int, IProgress<MigrationProgress>?> progressOf, Action<MigrationResult>? finished, CancellationToken cancel)
    {
        var limits = requests.GroupBy(r => r.Plan.SourceHost).ToDictionary(
            g => g.Key,
            g => new SemaphoreSlim(g.Min(r => r.Plan.MaxConcurrentOutgoing) ?? g.Count())); // Min skips the unlimited (null)
        try
        {
            return await Task.WhenAll(requests.Select(async (request, index) =>
            {
                var limit = limits[request.Plan.SourceHost];
                try
                {
                    await limit.WaitAsync(cancel);
                }
                catch (OperationCanceledException)
                {
                    var notStarted = new MigrationRun(request, null).Failure(new OperationCanceledException(cancel), cancelled: true);
                    finished?.Invoke(notStarted);
                    return notStarted;
                }
                try
                {
                    var result = await migrate(request, progressOf(request, index), cancel);
                    finished?.Invoke(result);
                    return result;
                }
                finally
                {
                    limit.Release();
                }
            }));
        }
        finally
        {
            foreach (var limit in limits.Values) limit.Dispose();
        }
    }
}
