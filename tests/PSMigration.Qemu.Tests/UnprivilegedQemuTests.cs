using System.Globalization;
using PSMigration.Cli.Demo;
using PSMigration.Qemu.Incoming;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Tests;

/// <summary>QEMUs that dropped root: a twin that an agent with a twin user starts, and a source VM its owner runs as an
/// unprivileged user. Each gets what it must open after dropping root (its incoming socket and TLS files, the engine's
/// socket), and the VM moves with its memory intact.</summary>
[Collection(QemuLabCollection.Name)]
public sealed class UnprivilegedQemuTests(QemuLab lab)
{
    [QemuAsRootTheory]
    [InlineData("engine")]
    [InlineData("direct")]
    public async Task A_twin_running_as_an_unprivileged_user_receives_the_VM(string transport)
    {
        var vm = $"nobody-twin-{transport}";
        var runDirectory = Path.Combine(lab.Root, "right-nobody");
        LetOthersSearch(lab.Root);
        var twins = new QemuTwinHost(lab.TwinOptions(runDirectory, [QemuEnvironment.QemuBinary]) with { TwinUser = "nobody" });
        await using var agent = lab.StartAgent(twins);
        await using var run = await lab.StartAsync($"{{ parallel: Custom, connections: 2, transport: {transport}, encryption: tls }}", [new GuestSpec(vm)],
            agentPort: agent.Endpoints[0].Port);
        try
        {
            var result = await MigrationBackends.MigrateAsync(run.Request(vm), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

            MigrationAssert.Completed(result);
            var pid = int.Parse(File.ReadAllText(Path.Combine(runDirectory, vm + ".pid")).Trim(), CultureInfo.InvariantCulture);
            Assert.Equal(Accounts.UnixAccount.Lookup("nobody").Uid.ToString(CultureInfo.InvariantCulture), UidOf(pid));
            await MigrationAssert.GuestIntactAsync(new SerialLog(Path.Combine(runDirectory, vm + ".serial")));
            Assert.Empty(Directory.GetDirectories(runDirectory, "*.twin")); // its socket and TLS copy went with the commit
        }
        finally
        {
            await QemuProcesses.KillAllAsync(Path.Combine(runDirectory, vm + "."));
        }
    }

    [QemuAsRootFact]
    public async Task A_source_QEMU_running_as_an_unprivileged_user_migrates_through_the_engine()
    {
        const string vm = "nobody-source";
        LetOthersSearch(lab.Root);
        await using var run = await lab.StartAsync("{ parallel: Custom, connections: 2, transport: engine, encryption: tls }", [new GuestSpec(vm)], startVms: false);
        await run.StartSourceAsync(vm, runAs: "nobody");
        Assert.Equal(Accounts.UnixAccount.Lookup("nobody").Uid.ToString(CultureInfo.InvariantCulture), UidOf(run.SourcePid(vm)));

        var result = await MigrationBackends.MigrateAsync(run.Request(vm), null, CancellationToken.None).WaitAsync(MigrationAssert.Hang);

        MigrationAssert.Completed(result); // QEMU, as nobody, could connect to the engine's socket: it was given to it
        await MigrationAssert.GuestIntactAsync(run.DestinationSerial(vm));
    }

    private static string UidOf(int pid) =>
        File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t')[1];

    /// <summary>The lab's root is a private temp folder; a host's run directories sit in searchable ones (/run).</summary>
    private static void LetOthersSearch(string folder) => Accounts.UnixAccount.AllowSearch(folder);
}
