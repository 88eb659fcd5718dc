using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using PSMigration.Cli;
using PSMigration.Cli.Demo;
using PSMigration.Testing;
using Xunit.Abstractions;

namespace PSMigration.Lab.Tests;

/// <summary>A lab test that also runs PowerShell 7 with Pester (<see cref="PowerShellTool"/>): skipped with the
/// reason where either is missing, never with CI=true.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LabPowerShellFactAttribute : FactAttribute
{
    public LabPowerShellFactAttribute()
    {
        Skip = LabEnvironment.SkipReason(["qemu-system-x86_64", "gcc", "ping"])
               ?? TestRequirements.SkipReason("PowerShell lab tests skipped", PowerShellTool.Missing(LabEnvironment.RepoRoot));
    }
}

/// <summary>
/// samples/Cluster.Tests.ps1, the validation suite users copy, run as they would run it: Pester in pwsh on lab
/// host a, with the module, against the lab inventory with two test guests running on a and b's real agent.
/// It passes there; with b's agent stopped it fails, and says why.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class LabClusterSuiteTests : IDisposable
{
    private static readonly string Psmig = Path.Combine(AppContext.BaseDirectory, "psmig.dll");
    private static readonly string Manifest = typeof(LabClusterSuiteTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "MigrationManifest").Value!;
    private static readonly string[] Guests = ["web", "db"];

    private readonly LabFixture lab;
    private readonly ITestOutputHelper output;
    private readonly string folder, runA, runB, pki, inventory;
    private LabProcess? agent;

    public LabClusterSuiteTests(LabFixture lab, ITestOutputHelper output)
    {
        this.lab = lab;
        this.output = output;
        (folder, runA, runB, pki, inventory) = LabWorkspace.Create("psmig-labsuite-");
    }

    [LabPowerShellFact]
    public void The_sample_cluster_suite_passes_against_the_lab_and_fails_when_an_agent_is_down()
    {
        var kernel = TestGuest.Build(folder);
        File.WriteAllText(inventory, Inventory(lab.InventoryPath, kernel));
        Assert.Equal(0, CliApp.Run(["cert", "init", "--inventory", inventory, "--out", pki], new StringWriter(), new StringWriter()));
        agent = lab.StartProcess(LabHost.B, "dotnet", Psmig, "agent", "--inventory", inventory, "--host", "b", "--pki", pki,
            "--run-dir", runB, "--qemu", "/usr/bin/qemu-system-x86_64", "--storage-root", folder);
        agent.WaitForOutput("listening on", TimeSpan.FromSeconds(20));
        foreach (var guest in Guests) LabGuest.Start(lab, LabHost.A, kernel, runA, guest, 128, 10);

        var passing = RunSuite();
        Assert.True(passing.Failed == 0 && passing.Passed == 5, $"the suite should pass all 5 tests in the lab: {passing.Text}");

        agent.Dispose();
        var failing = RunSuite();
        Assert.True(failing.Failed >= 2, $"with b's agent down the agent and readiness tests should fail: {failing.Text}");
        Assert.Contains("the agent of b at", failing.Text);
        Assert.Contains("no host can take web now", failing.Text);
    }

    /// <summary>Runs the suite in pwsh on host a; its counts and everything it printed.</summary>
    private (int Passed, int Failed, string Text) RunSuite()
    {
        var repo = LabEnvironment.RepoRoot!;
        var modules = PowerShellTool.ModulesFolder(repo);
        var script = $$"""
            $ErrorActionPreference = 'Stop'
            {{(modules is null ? "" : $"$env:PSModulePath = '{modules}' + [IO.Path]::PathSeparator + $env:PSModulePath")}}
            Import-Module Pester -MinimumVersion 5.0.0
            Import-Module '{{Manifest}}'
            $suite = New-PesterContainer -Path '{{Path.Combine(repo, "samples", "Cluster.Tests.ps1")}}' -Data @{
                InventoryPath = '{{inventory}}'; ThisHost = 'a'; PkiPath = '{{pki}}'; RunDirectory = '{{runA}}'; Seconds = 1 }
            $configuration = New-PesterConfiguration
            $configuration.Run.Container = $suite
            $configuration.Run.PassThru = $true
            $configuration.Output.Verbosity = 'Detailed'
            $result = Invoke-Pester -Configuration $configuration
            "SUITE passed=$($result.PassedCount) failed=$($result.FailedCount)"
            """;
        var exec = lab.Exec(LabHost.A, TimeSpan.FromMinutes(3), PowerShellTool.Find(repo)!, "-NoProfile", "-NonInteractive", "-Command", script);
        output.WriteLine(exec.ToString());
        var counts = Regex.Match(exec.Stdout, @"SUITE passed=(\d+) failed=(\d+)");
        Assert.True(counts.Success, $"the suite did not run: {exec}");
        return (int.Parse(counts.Groups[1].Value), int.Parse(counts.Groups[2].Value), Regex.Replace(exec.Stdout + exec.Stderr, @"\e\[[0-9;]*m", ""));
    }

    /// <summary>The lab's inventory with the test guests on a, their files in {runDir}.</summary>
    private static string Inventory(string labInventory, string kernel)
    {
        var text = File.ReadAllText(labInventory);
        text = text[..text.IndexOf("vms:", StringComparison.Ordinal)] + "vms:\n";
        foreach (var name in Guests)
        {
            var args = JsonSerializer.Serialize(TestGuest.Args(kernel, 128, 10, "{runDir}/" + name + ".serial"));
            text += $"  - name: {name}\n    host: a\n    vcpus: 1\n    memoryMiB: 128\n    qemu:\n      qmp: \"{{runDir}}/{name}.qmp\"\n      args: {args}\n";
        }
        return text;
    }

    public void Dispose()
    {
        agent?.Dispose();
        foreach (var guest in Guests)
        {
            var pidFile = Path.Combine(runA, guest + ".pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
                try { System.Diagnostics.Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }
}
