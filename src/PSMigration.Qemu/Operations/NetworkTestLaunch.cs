using PSMigration.Core.Diagnostics;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Core.Policies;
using PSMigration.Engine.NetworkTest;
using PSMigration.Engine.Security;

namespace PSMigration.Qemu.Operations;

/// <summary>The one path from names to network test results (Test-MigrationNetwork, psmig test-network): the plan of
/// what to measure, this host's credentials (released after), and the engine's measurements.</summary>
public static class NetworkTestLaunch
{
    /// <summary>Connection counts a sweep tries.</summary>
    public static IReadOnlyList<int> SweepCounts => NetworkTester.SweepCounts;

    public static async Task<IReadOnlyList<NetworkTestResult>> RunAsync(MigrationInventory inventory, string source, string destination, string? network,
        IReadOnlyList<int> connections, TimeSpan duration, EncryptionMode? encryption, bool resilient, string pkiDirectory, IActivityLog log,
        IProgress<string>? progress, CancellationToken cancel)
    {
        var plan = NetworkTestPlan.For(inventory, source, destination, network, encryption);
        using var credentials = ClusterPki.Load(pkiDirectory, plan.SourceHost);
        var request = new NetworkTestRequest { Plan = plan, Connections = connections, Duration = duration, Credentials = credentials, Log = log, Resilient = resilient };
        return await NetworkTester.RunAsync(request, progress, cancel);
    }
}
