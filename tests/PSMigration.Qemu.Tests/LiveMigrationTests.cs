using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Yaml;
using PSMigration.Core;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Tests;

/// <summary>
/// Whole live migrations of the test guest from "left" to the in-process agent of "right", over
/// loopback, through <see cref="MigrationBackends.MigrateAsync"/> as psmig migrate runs it: each
/// transport and encryption. After each: the guest verifies its memory on "right", the source QEMU
/// has quit, the twin runs, and the inventory says "right" (and nothing else changed).
/// </summary>
[Collection(QemuLabCollection.Name)]
public sealed class LiveMigrationTests(QemuLab lab)
{
    [QemuFact]
    public Task Engine_with_tls_over_four_connections() =>
        MigratesAsync("vm-engine-tls", "{ parallel: Custom, connections: 4, transport: engine, encryption: tls }", "engine", "tls", 4);

    [QemuFact]
    public Task Engine_plain_with_session_token() =>
        MigratesAsync("vm-engine-plain", "{ parallel: Custom, connections: 2, transport: engine, encryption: none }", "engine", "none", 2);

    [QemuFact]
    public Task Engine_with_parallel_off_uses_one_connection() =>
        MigratesAsync("vm-engine-single", "{ parallel: Disabled, transport: engine, encryption: tls }", "engine", "tls", 1);

    [QemuFact]
    public Task Direct_plain() =>
        MigratesAsync("vm-direct-plain", "{ parallel: Custom, connections: 2, transport: direct, encryption: none }", "direct", "none", 2);

    [QemuFact]
    public Task Direct_with_QEMUs_own_tls() =>
        MigratesAsync("vm-direct-tls", "{ parallel: Custom, connections: 2, transport: direct, encryption: tls }", "direct", "tls", 2);

    [QemuFact]
    public async Task Without_inventory_update_the_file_stays_byte_identical()
    {
        await using var run = await lab.StartAsync("{ parallel: Custom, connections: 2, transport: engine, encryption: none }", [new GuestSpec("vm-no-update")]);
        var before = File.ReadAllBytes(run.InventoryPath);

        var result = await MigrationBackends.MigrateAsync(run.Request("vm-no-update") with { UpdateInventory = false }, null, CancellationToken.None)
            .WaitAsync(MigrationAssert.Hang);

        MigrationAssert.Completed(result);
        Assert.False(result.InventoryUpdated);
        Assert.Equal(before, File.ReadAllBytes(run.InventoryPath));
        await MigrationAssert.GuestIntactAsync(run.DestinationSerial("vm-no-update"));
    }

    private async Task MigratesAsync(string vm, string policy, string transport, string encryption, int connections)
    {
        await using var run = await lab.StartAsync(policy, [new GuestSpec(vm)]);
        var log = new RecordingLog();
        var request = run.Request(vm) with { Log = log };
        Assert.Equal((transport, encryption, connections), (Spelling.Of(request.Plan.Transport), Spelling.Of(request.Plan.Encryption), request.Plan.Channels));
        var inventoryBefore = File.ReadAllText(run.InventoryPath);
        var sourcePid = run.SourcePid(vm);
        var phases = new List<string>();

        var result = await MigrationBackends.MigrateAsync(request, new InlineProgress<MigrationProgress>(p => phases.Add(p.Phase)), CancellationToken.None)
            .WaitAsync(MigrationAssert.Hang);

        MigrationAssert.Completed(result);
        Assert.Equal((vm, "left", "right", "loop"), (result.Vm, result.SourceHost, result.DestinationHost, result.Network));
        Assert.Equal((transport, encryption, connections), (Spelling.Of(result.Transport), Spelling.Of(result.Encryption), result.Connections));
        Assert.True(result.Bytes > 64L * 1048576, $"a 128 MiB guest full of random data sent only {result.Bytes} bytes");
        Assert.NotNull(result.DowntimeMs);
        Assert.Equal("preparing the destination", phases[0]);
        Assert.Equal("completed", phases[^1]);

        await MigrationAssert.GuestIntactAsync(run.DestinationSerial(vm));
        await QemuProcesses.WaitGoneAsync(sourcePid);
        Assert.Equal("running", await QemuLab.RunStateAsync(run.DestinationQmp(vm)));

        Assert.True(result.InventoryUpdated);
        Assert.Equal(ReplaceOnce(inventoryBefore, "    host: left\n", "    host: right\n"), File.ReadAllText(run.InventoryPath));

        if (request.Plan.ViaEngine)
        {
            var streams = request.Plan.Parallel ? connections + 1 : 1; // the main channel, then one per multifd channel
            Assert.Equal(streams, result.ChannelBytes.Count);
            Assert.All(request.Plan.Parallel ? result.ChannelBytes.Skip(1) : result.ChannelBytes, b => Assert.True(b > 0, $"an idle connection: {string.Join(" ", result.ChannelBytes)}"));
            // Each of the source QEMU's connections to the engine got the larger send buffer once (PeerSendBuffer).
            var raised = log.Lines.Select(l => Regex.Match(l, @"the send buffer of (\d+) socket\(s\) of QEMU \(pid (\d+)\)")).Where(m => m.Success).ToList();
            Assert.True(raised.Count > 0, "no send buffer raised: " + string.Join(" | ", log.Lines.Where(l => l.Contains("send buffer"))));
            Assert.All(raised, m => Assert.Equal(sourcePid, int.Parse(m.Groups[2].Value)));
            Assert.Equal(streams, raised.Sum(m => int.Parse(m.Groups[1].Value)));
        }
        else
        {
            Assert.Empty(result.ChannelBytes);
        }
        MigrationAssert.FollowsJsonContract(result);
        Assert.Null(result.Error);
    }

    private sealed class RecordingLog : IActivityLog
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public bool DebugEnabled => true;
        public void Verbose(string message) => Lines.Enqueue(message);
        public void Debug(string message) => Lines.Enqueue(message);
    }

    private static string ReplaceOnce(string text, string old, string replacement)
    {
        var first = text.IndexOf(old, StringComparison.Ordinal);
        Assert.True(first >= 0 && text.IndexOf(old, first + 1, StringComparison.Ordinal) < 0, $"test setup: '{old}' is not in the inventory exactly once");
        return text[..first] + replacement + text[(first + old.Length)..];
    }
}
