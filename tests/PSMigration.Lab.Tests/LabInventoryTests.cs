using System.Text.Json;
using PSMigration.Cli;

namespace PSMigration.Lab.Tests;

/// <summary>lab.sh inventory needs no lab (nor root): it must load and plan a -> b over "mig".</summary>
public sealed class LabInventoryTests
{
    [Fact]
    public void Lab_inventory_loads_and_plans_vm1_from_a_to_b_over_mig()
    {
        var inventory = Shell.Run("bash", [LabEnvironment.LabScript, "inventory", "psminv"], TimeSpan.FromSeconds(30));
        Assert.True(inventory.ExitCode == 0, inventory.ToString());
        var dir = Directory.CreateTempSubdirectory("psmig-lab-inventory-");
        try
        {
            var path = Path.Combine(dir.FullName, "inventory.yaml");
            File.WriteAllText(path, inventory.Stdout);
            Assert.Contains($"cpuThreads: {Environment.ProcessorCount}", inventory.Stdout);

            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var code = CliApp.Run(["plan", "--inventory", path, "--vm", "vm1", "--destination", "b", "--json"], stdout, stderr);
            Assert.True(code == 0, $"psmig plan exited {code}: {stderr}");

            var plan = JsonDocument.Parse(stdout.ToString()).RootElement;
            Assert.Equal("mig", plan.GetProperty("network").GetString());
            Assert.Equal("mig0", plan.GetProperty("sourceInterface").GetString());
            Assert.Equal(LabAddresses.MigA, plan.GetProperty("sourceAddress").GetString());
            Assert.Equal(LabAddresses.MigB, plan.GetProperty("destinationAddress").GetString());
            Assert.Contains(plan.GetProperty("rejected").EnumerateArray(), r => r.GetProperty("network").GetString() == "lan");
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Lab_script_refuses_bad_names_and_unknown_verbs()
    {
        var bad = Shell.Run("bash", [LabEnvironment.LabScript, "up", "Bad/Name"], TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("bad lab name", bad.Stderr);
        Assert.Equal(2, Shell.Run("bash", [LabEnvironment.LabScript, "frobnicate"], TimeSpan.FromSeconds(30)).ExitCode);
    }
}
