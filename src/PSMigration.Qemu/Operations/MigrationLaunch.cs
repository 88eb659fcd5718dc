using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Engine.Security;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Operations;

/// <summary>What a front-end took from its user for migrations to one destination (Start-VMMigration, psmig migrate).</summary>
public sealed record MigrationOptions
{
    public required string Destination { get; init; }
    public string? Network { get; init; }
    /// <summary>-Transport and -Connections over the policy.</summary>
    public PlanOverrides Overrides { get; init; } = new();
    public required string PkiDirectory { get; init; }
    public string RunDirectory { get; init; } = Launch.RunDirectory.Default;
    /// <summary>Null for <see cref="MigrationRequest.DefaultTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }
    public bool UpdateInventory { get; init; } = true;
    /// <summary>Switch to post-copy this long after memory starts moving (zero: after the first pass); needs
    /// <see cref="PlanOverrides.Postcopy"/> or the policy's postcopy. Null: only as the policy's timeoutAction says.</summary>
    public TimeSpan? PostcopyAfter { get; init; }
    public IActivityLog Log { get; init; } = SilentLog.Instance;

    /// <summary>The request for one VM: its plan (told to the log) and what the inventory says about the VM and the destination.</summary>
    public MigrationRequest RequestFor(MigrationInventory inventory, string vm)
    {
        var plan = MigrationPlanner.Plan(inventory, vm, Destination, Network, Overrides);
        Log.TellPlan(plan);
        return MigrationRequest.For(inventory, plan, PkiDirectory) with
        {
            RunDirectory = RunDirectory,
            Timeout = Timeout,
            UpdateInventory = UpdateInventory,
            PostcopyAfter = PostcopyAfter,
            NetworkAsked = Network,
            Overrides = Overrides,
            Log = Log,
        };
    }
}

/// <summary>
/// Migrations ready to run: the requests with the credentials each needs (its source host's, or for a source that is
/// another host the caller's, which asks that host's agent), loaded once per host when the launch is made (a missing
/// certificate fails here, before anything starts) and released with it. The one path from requests to results for the
/// cmdlets, their jobs, psmig migrate, the drains and the demo: a batch (within each source's maxConcurrentOutgoing and
/// each destination's maxConcurrentIncoming) through <see cref="MigrationBackends"/> here, or the source host's agent
/// (<see cref="RemoteMigration"/>).
/// </summary>
public sealed class MigrationLaunch : IDisposable
{
    private readonly Dictionary<string, HostCredentials> credentials = new(MigrationInventory.NameComparer);

    public MigrationLaunch(IReadOnlyList<MigrationRequest> requests)
    {
        try
        {
            foreach (var host in requests.Select(CredentialHost).Distinct())
                credentials[host] = ClusterPki.Load(requests.First(r => CredentialHost(r) == host).PkiDirectory, host);
            if (requests.FirstOrDefault(r => r.NotRunnableHere is not null) is { NotRunnableHere: { } problem }) throw problem;
        }
        catch
        {
            Dispose();
            throw;
        }
        Requests = requests.Select(r => r with { Credentials = credentials[CredentialHost(r)] }).ToList();
    }

    /// <summary>Whose certificate a request needs: its source's, or the caller's when the source agent runs it.</summary>
    private static string CredentialHost(MigrationRequest request) => request.Remote?.CallerHost ?? request.Plan.SourceHost;

    public IReadOnlyList<MigrationRequest> Requests { get; }

    /// <param name="progressOf">The progress sink of the request at an index.</param>
    /// <param name="finished">Told each result as it comes.</param>
    /// <param name="log">Instead of the requests' own log (a background job keeps its own).</param>
    /// <param name="admit">Asked as each migration's turn comes: why it must not start now, or null.</param>
    public Task<IReadOnlyList<MigrationResult>> RunAsync(Func<MigrationRequest, int, IProgress<MigrationProgress>?> progressOf,
        Action<MigrationResult>? finished, CancellationToken cancel, IActivityLog? log = null, Func<MigrationRequest, Exception?>? admit = null) =>
        MigrationBatch.RunAsync(log is null ? Requests : Requests.Select(r => r with { Log = log }).ToList(),
            (request, progress, token) => request.Remote is null ? MigrationBackends.MigrateAsync(request, progress, token) : RemoteMigration.MigrateAsync(request, progress, token),
            progressOf, finished, cancel, admit);

    public void Dispose()
    {
        foreach (var held in credentials.Values) held.Dispose();
        credentials.Clear();
    }
}
