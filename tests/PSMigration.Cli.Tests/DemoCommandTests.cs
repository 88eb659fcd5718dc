namespace PSMigration.Cli.Tests;

public class DemoCommandTests
{
    [Fact]
    public void Demo_plans_the_embedded_sample()
    {
        var text = Cli.Run("demo");
        var json = Cli.Run("demo", "--json");

        Assert.Equal(0, text.ExitCode);
        Assert.Contains("web01: kvm01 -> kvm03 over 'lan'", text.Stdout);
        Assert.Equal(0, json.ExitCode);
        var plans = json.Json.EnumerateArray().ToList();
        Assert.Equal(["mig", "lan", "mig"], plans.Select(p => p.GetProperty("network").GetString()));
        Assert.Equal([1, 1, 4], plans.Select(p => p.GetProperty("connections").GetInt32()));
    }

    [Fact]
    public void Embedded_sample_is_the_shipped_sample()
    {
        Assert.Equal(File.ReadAllText(Cli.Sample), PSMigration.Core.Inventory.InventoryLoader.SampleText());
    }
}
