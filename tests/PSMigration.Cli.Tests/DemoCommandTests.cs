namespace PSMigration.Cli.Tests;

public class DemoCommandTests
{
    /// <summary>psmig demo really migrates: a QEMU test guest from "left" to "right" through the engine,
    /// its memory verified on arrival, the source gone.</summary>
    [QemuFact]
    public void Demo_live_migrates_the_test_guest_with_its_memory_intact()
    {
        var run = Cli.Run("demo", "--json");

        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr}");
        var result = run.Json.GetProperty("result");
        Assert.Equal("Completed", result.GetProperty("status").GetString());
        Assert.Equal("right", result.GetProperty("destinationHost").GetString());
        Assert.Equal("engine", result.GetProperty("transport").GetString());
        Assert.Equal("demo-vm", run.Json.GetProperty("plan").GetProperty("vm").GetString());
        var serial = run.Json.GetProperty("destinationSerial").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.Contains(serial, l => l.StartsWith("MEMCHECK OK", StringComparison.Ordinal));
        Assert.DoesNotContain(serial, l => l.StartsWith("MEMCHECK FAIL", StringComparison.Ordinal));
        Assert.True(run.Json.GetProperty("sourceQuit").GetBoolean());
    }

    [Fact]
    public void Embedded_sample_is_the_shipped_sample()
    {
        Assert.Equal(File.ReadAllText(Cli.Sample), PSMigration.Core.Inventory.InventoryLoader.SampleText());
    }
}
