using System.Text.Json;
using PSMigration.Cli;
using PSMigration.Cli.Demo;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Tests;

/// <summary>What every finished migration is checked for.</summary>
public static class MigrationAssert
{
    /// <summary>The result's JSON property names (as psmig --json writes them): the documented contract.</summary>
    public static readonly string[] ContractFields =
        ["status", "vm", "transport", "network", "connections", "totalTimeMs", "downtimeMs", "bytes", "throughputMBps", "error"];

    /// <summary>A generous bound so a broken build fails instead of hanging; not a speed requirement.</summary>
    public static readonly TimeSpan Hang = TimeSpan.FromMinutes(4);

    public static void Completed(MigrationResult result) =>
        Assert.True(result.Status == MigrationStatusNames.Completed,
            $"expected Completed, got {result.Status}: {result.ErrorId}: {result.Error}; warnings: {string.Join(" | ", result.Warnings)}");

    /// <summary>The guest goes on verifying its memory on the destination: two more passes, no failure.</summary>
    public static async Task GuestIntactAsync(SerialLog serial)
    {
        await serial.WaitForAsync(SerialLog.IsMemcheckOk, 2, 0, TimeSpan.FromSeconds(90), CancellationToken.None); // throws on MEMCHECK FAIL or timeout
        Assert.DoesNotContain(serial.Lines(), l => l.StartsWith("MEMCHECK FAIL", StringComparison.Ordinal));
    }

    /// <summary>The guest prints a heartbeat and a memory check it had not printed before <paramref name="linesBefore"/>.</summary>
    public static async Task GuestKeepsRunningAsync(SerialLog serial, int linesBefore)
    {
        await serial.WaitForAsync(SerialLog.IsHeartbeat, 1, linesBefore, TimeSpan.FromSeconds(90), CancellationToken.None);
        await serial.WaitForAsync(SerialLog.IsMemcheckOk, 1, linesBefore, TimeSpan.FromSeconds(90), CancellationToken.None);
        Assert.DoesNotContain(serial.Lines(), l => l.StartsWith("MEMCHECK FAIL", StringComparison.Ordinal));
    }

    public static void FollowsJsonContract(MigrationResult result)
    {
        var json = JsonDocument.Parse(JsonSerializer.Serialize(result, CliOutput.JsonOptions)).RootElement;
        foreach (var field in ContractFields)
            Assert.True(json.TryGetProperty(field, out _), $"missing '{field}' in {json}");
        Assert.Equal(result.Status, json.GetProperty("status").GetString());
        Assert.Equal(result.Connections, json.GetProperty("connections").GetInt32());
    }
}

