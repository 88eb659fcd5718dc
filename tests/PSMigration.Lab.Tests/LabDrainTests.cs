using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using PSMigration.Cli;
using PSMigration.Cli.Demo;
using PSMigration.Core.Inventory;
using PSMigration.Qemu.Launch;
using System.Reflection;
using PSMigration.Testing;
using Xunit.Abstractions;
using Xunit.Sdk;

// One lab at a time: the drain lab's five guests and the two-host lab's migrations must not share the two cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PSMigration.Lab.Tests;

/// <summary>
/// The three-host lab of the drain tests (lab.sh up NAME 3), with what they share: the test guest's kernel, the
/// cluster PKI, an inventory (b small, c larger, the drained VMs on a) and a real agent on each host. The guests are
/// started by the tests.
/// </summary>
public sealed class DrainLabFixture() : LabFixture(3)
{
    public static readonly string Psmig = Path.Combine(AppContext.BaseDirectory, "psmig.dll");

    /// <summary>The VMs on a that a drain moves (name, MiB), largest first, and the one that is never started (it fails).</summary>
    public static readonly (string Name, int MemoryMiB)[] Drained = [("d0", 384), ("d1", 192), ("d2", 192), ("d3", 96), ("d4", 96)];
    public const string NotRunning = "dgone";
    /// <summary>A VM on b that a separate process migrates to c while a drains (one inventory, two writers).</summary>
    public const string OnB = "bx";

    public string Folder { get; private set; } = "";
    public string Pki => Path.Combine(Folder, "pki");
    public string Inventory => Path.Combine(Folder, "inventory.yaml");
    public string Kernel { get; private set; } = "";
    public string RunOf(LabHost host) => Path.Combine(Folder, LabAddresses.Name(host));
    public Dictionary<LabHost, LabProcess> Agents { get; } = new();

    protected override void OnUp()
    {
        Folder = Directory.CreateTempSubdirectory("psmig-labdrain-").FullName;
        foreach (var host in new[] { LabHost.A, LabHost.B, LabHost.C }) Directory.CreateDirectory(RunOf(host));
        Kernel = TestGuest.Build(Folder);
        File.WriteAllText(Inventory, InventoryText(File.ReadAllText(InventoryPath), Kernel));
        if (CliApp.Run(["cert", "init", "--inventory", Inventory, "--out", Pki], new StringWriter(), new StringWriter()) != 0)
            throw new InvalidOperationException("psmig cert init failed for the drain lab");
        foreach (var host in new[] { LabHost.A, LabHost.B, LabHost.C }) StartAgent(host);
    }

    public void StartAgent(LabHost host)
    {
        var agent = StartProcess(host, "dotnet", Psmig, "agent", "--inventory", Inventory, "--host", LabAddresses.Name(host), "--pki", Pki,
            "--run-dir", RunOf(host), "--qemu", "/usr/bin/qemu-system-x86_64", "--storage-root", Folder);
        agent.WaitForOutput("listening on", TimeSpan.FromSeconds(20));
        Agents[host] = agent;
    }

    protected override void OnDown()
    {
        if (Folder != "") Directory.Delete(Folder, recursive: true);
    }

    /// <summary>The lab's three hosts with memory (b: 320 MiB, so the largest VMs do not fit there; c: 768 MiB), the
    /// cluster without multifd (so the source sends several at once) and one incoming migration per host at a time; the
    /// test VMs, each a test guest dirtying 10 MiB/s with its files in {runDir}.</summary>
    private static string InventoryText(string lab, string kernel)
    {
        var text = lab.Replace("      parallel: Auto\n", "      parallel: Disabled\n      maxConcurrentIncoming: 1\n", StringComparison.Ordinal);
        text = Regex.Replace(text, @"(  - name: b\n    cluster: lab\n)", "$1    memoryMiB: 320\n");
        text = Regex.Replace(text, @"(  - name: c\n    cluster: lab\n)", "$1    memoryMiB: 768\n");
        text = text[..text.IndexOf("vms:", StringComparison.Ordinal)] + "vms:\n";
        foreach (var (name, memory, host) in Drained.Select(d => (d.Name, d.MemoryMiB, "a")).Append((NotRunning, 16, "a")).Append((OnB, 96, "b")))
        {
            var args = JsonSerializer.Serialize(TestGuest.Args(kernel, memory, 10, "{runDir}/" + name + ".serial"));
            text += $"  - name: {name}\n    host: {host}\n    vcpus: 1\n    memoryMiB: {memory}\n    qemu:\n      qmp: \"{{runDir}}/{name}.qmp\"\n      args: {args}\n";
        }
        return text;
    }
}

[CollectionDefinition(Name)]
public sealed class DrainLabCollection : ICollectionFixture<DrainLabFixture>
{
    public const string Name = "DrainLab";
}

/// <summary>Runs a class's tests in the order of their names (T1_..., T2_...): the drain tests are one story, each
/// starting where the one before left the VMs.</summary>
public sealed class ByNameOrderer : ITestCaseOrderer
{
    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases) where TTestCase : ITestCase =>
        testCases.OrderBy(t => t.TestMethod.Method.Name, StringComparer.Ordinal);
}

/// <summary>
/// Drains on three namespace hosts through the real psmig and real agents: a drain of a moves its VMs within b's and
/// c's memory while another process migrates on the same inventory, goes on past a VM that fails, and records what it
/// moved; the failback from a brings them back through b's and c's agents; Ctrl+C in the middle of a drain started from
/// a third host leaves every VM on exactly one host, as the inventory says; a migration between two hosts started from
/// a third shows its progress and result.
/// </summary>
[Collection(DrainLabCollection.Name)]
[TestCaseOrderer("PSMigration.Lab.Tests.ByNameOrderer", "PSMigration.Lab.Tests")]
public sealed class LabDrainTests(DrainLabFixture lab, ITestOutputHelper output)
{
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(60);
    private static readonly LabHost[] Hosts = [LabHost.A, LabHost.B, LabHost.C];
    private static IEnumerable<string> DrainedNames => DrainLabFixture.Drained.Select(d => d.Name);

    [LabFact("qemu-system-x86_64", "gcc")]
    public void T1_A_drain_moves_every_running_VM_within_capacity_past_one_that_fails_while_another_process_edits_the_inventory()
    {
        foreach (var (name, memory) in DrainLabFixture.Drained) LabGuest.Start(lab, LabHost.A, lab.Kernel, lab.RunOf(LabHost.A), name, memory, 10);
        LabGuest.Start(lab, LabHost.B, lab.Kernel, lab.RunOf(LabHost.B), DrainLabFixture.OnB, 96, 10);

        var drain = lab.StartProcess(LabHost.A, Psmig(LabHost.A, "host", "suspend", "--host", "a", "--drain", "--json"));
        var other = Run(LabHost.B, "migrate", "--vm", DrainLabFixture.OnB, "--destination", "c", "--json"); // meanwhile, on the same inventory
        var exit = drain.WaitForExit(TimeSpan.FromMinutes(3));
        output.WriteLine(exit.ToString());

        Assert.Equal(0, other.ExitCode);
        Assert.Equal(1, exit.ExitCode); // dgone remains on a
        var summary = Json(exit.Stdout);
        Assert.Equal("a", summary.GetProperty("host").GetString());
        Assert.True(summary.GetProperty("maintenance").GetBoolean());
        var moved = Names(summary, "moved");
        var failed = Names(summary, "failed");
        Assert.Equal(DrainedNames.Append(DrainLabFixture.NotRunning).Order(), moved.Concat(failed).Order());
        Assert.Equal(failed.Order(), Names(summary, "remaining").Order());
        Assert.Contains(DrainLabFixture.NotRunning, failed);
        foreach (var result in summary.GetProperty("results").EnumerateArray().Where(r => failed.Contains(r.GetProperty("vm").GetString()!)))
        {
            Assert.Equal("Failed", result.GetProperty("status").GetString());
            // bx may land on c before the drain's last move there: that move then stays, rather than overfill c
            if (result.GetProperty("vm").GetString() != DrainLabFixture.NotRunning) Assert.Equal("DestinationFull", result.GetProperty("errorId").GetString());
        }
        output.WriteLine($"moved {string.Join(", ", moved)}; failed {string.Join(", ", failed)}");

        var inventory = InventoryLoader.Load(lab.Inventory);
        Assert.True(inventory.Host("a").InMaintenance);
        Assert.Equal("c", inventory.Vm(DrainLabFixture.OnB).Host); // the other process's move is not lost
        Assert.Equal("a", inventory.Vm(DrainLabFixture.NotRunning).Host);
        Assert.Equal("c", inventory.Vm("d0").Host); // 384 MiB: b (320 MiB) is too small for it
        Assert.True(inventory.Vms.Where(v => v.Host == "b").Sum(v => v.MemoryMiB) <= 320, "b holds more than its memory");
        Assert.True(inventory.Vms.Where(v => v.Host == "c").Sum(v => v.MemoryMiB) <= 768, "c holds more than its memory");
        Assert.Contains(inventory.Vms, v => v.Host == "b" && DrainedNames.Contains(v.Name)); // the load spreads
        foreach (var vm in DrainedNames.Append(DrainLabFixture.OnB)) AssertRunsIntactOnlyOn(vm, Host(inventory.Vm(vm).Host));
        Assert.All(moved, vm => Assert.NotEqual("a", inventory.Vm(vm).Host));

        var record = DrainRecord.Read(lab.Inventory, "a");
        Assert.Equal(moved.Order(), record.Moves.Select(m => m.Vm).Order());
        Assert.All(record.Moves, m => Assert.Equal(inventory.Vm(m.Vm).Host, m.Destination));
    }

    [LabFact("qemu-system-x86_64", "gcc")]
    public void T2_The_failback_from_the_drained_host_brings_them_back_through_their_hosts_agents()
    {
        var drained = DrainRecord.Read(lab.Inventory, "a").Moves;
        Assert.Contains(drained, m => m.Destination == "b");
        Assert.Contains(drained, m => m.Destination == "c");

        var exec = Run(LabHost.A, "host", "resume", "--host", "a", "--failback", "--json", "--verbose");

        Assert.Equal(0, exec.ExitCode);
        var summary = Json(exec.Stdout);
        Assert.False(summary.GetProperty("maintenance").GetBoolean());
        Assert.Equal(drained.Select(m => m.Vm).Order(), Names(summary, "moved").Order());
        Assert.Empty(Names(summary, "remaining"));
        Assert.Contains("b is not this host: its agent migrates the VM", exec.Stderr); // the sources are not this host
        Assert.Contains("c is not this host: its agent migrates the VM", exec.Stderr);
        var inventory = InventoryLoader.Load(lab.Inventory);
        Assert.False(inventory.Host("a").InMaintenance);
        foreach (var vm in DrainedNames)
        {
            Assert.Equal("a", inventory.Vm(vm).Host);
            AssertRunsIntactOnlyOn(vm, LabHost.A);
        }
        Assert.Equal("c", inventory.Vm(DrainLabFixture.OnB).Host); // not the drain's: it stays
        Assert.Empty(DrainRecord.Read(lab.Inventory, "a").Moves);
        Assert.False(File.Exists(DrainRecord.FileOf(lab.Inventory, "a")));
    }

    [LabFact("qemu-system-x86_64", "gcc")]
    public void T3_Ctrl_C_in_the_middle_of_a_drain_started_from_a_third_host_leaves_every_VM_on_one_host_as_the_inventory_says()
    {
        Assert.Equal(0, Run(LabHost.C, "policy", "set", "--cluster", "lab", "--bandwidth-gbps", "0.3").ExitCode); // a few seconds a move
        try
        {
            var drain = lab.StartProcess(LabHost.C, Psmig(LabHost.C, "host", "suspend", "--host", "a", "--drain"));
            drain.WaitForOutput("Completed", TimeSpan.FromMinutes(2)); // the first move is done, others run or wait
            Assert.Equal(0, lab.Exec(LabHost.C, "kill", "-INT", drain.Id.ToString()).ExitCode);
            var exit = drain.WaitForExit(TimeSpan.FromMinutes(2));
            output.WriteLine(exit.ToString());

            Assert.Equal(1, exit.ExitCode);
            Assert.Contains("cancelling", exit.Stderr);
            var inventory = InventoryLoader.Load(lab.Inventory);
            var moved = DrainedNames.Where(v => inventory.Vm(v).Host != "a").ToList();
            Assert.NotEmpty(moved);
            Assert.NotEqual(DrainedNames.Count(), moved.Count); // Ctrl+C stopped it before the end
            foreach (var vm in DrainedNames) AssertRunsIntactOnlyOn(vm, Host(inventory.Vm(vm).Host));
            Assert.Equal(moved.Order(), DrainRecord.Read(lab.Inventory, "a").Moves.Select(m => m.Vm).Order());
            foreach (var host in Hosts) Assert.Empty(Directory.GetFiles(lab.RunOf(host), "*.incoming*"));
        }
        finally
        {
            Run(LabHost.C, "policy", "set", "--cluster", "lab", "--clear", "bandwidthGbps");
        }
        var back = Run(LabHost.B, "host", "resume", "--host", "a", "--failback", "--json"); // from yet another host
        Assert.Equal(0, back.ExitCode);
        foreach (var vm in DrainedNames) Assert.Equal("a", InventoryLoader.Load(lab.Inventory).Vm(vm).Host);
    }

    [LabFact("qemu-system-x86_64", "gcc")]
    public void T4_A_migration_between_two_hosts_started_from_a_third_shows_its_progress_story_and_result()
    {
        var exec = Run(LabHost.C, "migrate", "--vm", "d3", "--destination", "b", "--json", "--verbose");

        Assert.Equal(0, exec.ExitCode);
        var result = Json(exec.Stdout);
        Assert.Equal("Completed", result.GetProperty("status").GetString());
        Assert.Equal("a", result.GetProperty("sourceHost").GetString());
        Assert.Equal("mig", result.GetProperty("network").GetString()); // the source agent planned it: a's migration link
        Assert.True(result.GetProperty("inventoryUpdated").GetBoolean());
        Assert.Contains("a: d3: migrating memory", exec.Stderr); // the source agent's story, told here
        Assert.Equal("b", InventoryLoader.Load(lab.Inventory).Vm("d3").Host);
        AssertRunsIntactOnlyOn("d3", LabHost.B);

        var back = Run(LabHost.C, "migrate", "--vm", "d3", "--destination", "a", "--json");
        Assert.Equal(0, back.ExitCode);
        AssertRunsIntactOnlyOn("d3", LabHost.A);
    }

    [LabPowerShellFact]
    public void T5_The_runbook_sample_drains_patches_and_fails_back_under_pwsh_from_another_host()
    {
        // The runbook patches only an empty host: the VM that never runs leaves the inventory first.
        File.WriteAllText(lab.Inventory, Regex.Replace(File.ReadAllText(lab.Inventory), $@"  - name: {DrainLabFixture.NotRunning}\n(    .*\n)+", ""));
        var marker = Path.Combine(lab.Folder, "patched.txt");
        var report = Path.Combine(lab.Folder, "report.json");
        var exec = Pwsh(LabHost.C, $$"""
            $patch = { param($HostName) Set-Content -LiteralPath '{{marker}}' -Value "$HostName $(@(Get-MigrationVM -HostName $HostName -InventoryPath '{{lab.Inventory}}').Count)" }
            & '{{Path.Combine(LabEnvironment.RepoRoot!, "samples", "Invoke-HostPatch.ps1")}}' -HostName a -InventoryPath '{{lab.Inventory}}' -PkiPath '{{lab.Pki}}' `
                -RunDirectory '{{lab.RunOf(LabHost.C)}}' -Patch $patch -ReportPath '{{report}}' | Format-List
            """);

        Assert.Equal(0, exec.ExitCode);
        Assert.Equal("a 0", File.ReadAllText(marker).Trim()); // patched while a held no VM
        var json = JsonDocument.Parse(File.ReadAllText(report)).RootElement;
        Assert.True(json.GetProperty("Patched").GetBoolean());
        Assert.Equal(DrainedNames.Order(), json.GetProperty("Drained").EnumerateArray().Select(e => e.GetString()!).Order());
        Assert.Equal(DrainedNames.Order(), json.GetProperty("BroughtBack").EnumerateArray().Select(e => e.GetString()!).Order());
        Assert.Empty(json.GetProperty("NotBroughtBack").EnumerateArray());
        var inventory = InventoryLoader.Load(lab.Inventory);
        Assert.False(inventory.Host("a").InMaintenance);
        foreach (var vm in DrainedNames) AssertRunsIntactOnlyOn(vm, LabHost.A);
    }

    [LabPowerShellFact]
    public void T6_A_drain_as_a_job_shows_its_progress_and_Stop_Job_cancels_it_and_a_failback_job_brings_them_back()
    {
        Assert.Equal(0, Run(LabHost.A, "policy", "set", "--cluster", "lab", "--bandwidth-gbps", "0.3").ExitCode);
        ExecResult exec;
        try
        {
            exec = Pwsh(LabHost.A, $$"""
                $c = @{ InventoryPath = '{{lab.Inventory}}'; PkiPath = '{{lab.Pki}}'; RunDirectory = '{{lab.RunOf(LabHost.A)}}' }
                $job = Suspend-MigrationHost -Name a -Drain -AsJob @c
                $deadline = (Get-Date).AddMinutes(2)
                while (-not ($job.Progress | Where-Object { $_.ActivityId -eq 1 -and $_.StatusDescription -match '^[1-9]\d* of' })) {
                    if ((Get-Date) -gt $deadline) { throw "no move completed: $($job.State)" }
                    Start-Sleep -Milliseconds 200
                }
                Stop-Job $job
                "STATE $($job.State)"
                "RUNNING $(@($job.Progress | Where-Object ParentActivityId -EQ 1 | Select-Object -ExpandProperty ActivityId -Unique).Count)"
                $summary = Receive-Job $job -ErrorAction SilentlyContinue -ErrorVariable failures
                "MOVED $($summary.Moved -join ',')"
                "CANCELLED $(@($failures | Where-Object { $_.FullyQualifiedErrorId -eq 'MigrationCancelled' }).Count)"
                $back = Resume-MigrationHost -Name a -Failback -AsJob @c | Receive-Job -Wait -AutoRemoveJob
                "BACK $($back.Moved -join ',') REMAINING $($back.Remaining.Count)"
                """);
        }
        finally
        {
            Run(LabHost.A, "policy", "set", "--cluster", "lab", "--clear", "bandwidthGbps");
        }

        Assert.Equal(0, exec.ExitCode);
        Assert.Contains("STATE Stopped", exec.Stdout);
        var moved = Regex.Match(exec.Stdout, @"MOVED (\S*)").Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(moved);
        Assert.True(moved.Length < DrainedNames.Count(), $"Stop-Job came after the whole drain: {exec.Stdout}");
        Assert.Matches(@"CANCELLED [1-9]", exec.Stdout); // the running moves were cancelled, not left to finish
        Assert.Matches(@"RUNNING [1-9]", exec.Stdout); // each move had its bar under the drain's
        Assert.Contains("REMAINING 0", exec.Stdout);
        Assert.Equal(moved.Order(), Regex.Match(exec.Stdout, @"BACK (\S*)").Groups[1].Value.Split(',').Order());
        var inventory = InventoryLoader.Load(lab.Inventory);
        foreach (var vm in DrainedNames)
        {
            Assert.Equal("a", inventory.Vm(vm).Host);
            AssertRunsIntactOnlyOn(vm, LabHost.A);
        }
    }

    /// <summary>A script in pwsh on a host, with the module imported; stopped on the first error.</summary>
    private ExecResult Pwsh(LabHost host, string body)
    {
        var repo = LabEnvironment.RepoRoot!;
        var modules = PowerShellTool.ModulesFolder(repo);
        var script = $"$ErrorActionPreference = 'Stop'\n" +
                     (modules is null ? "" : $"$env:PSModulePath = '{modules}' + [IO.Path]::PathSeparator + $env:PSModulePath\n") +
                     $"Import-Module '{Manifest}'\n" + body;
        var exec = lab.Exec(host, TimeSpan.FromMinutes(4), PowerShellTool.Find(repo)!, "-NoProfile", "-NonInteractive", "-Command", script);
        output.WriteLine(exec.ToString());
        return exec;
    }

    private static readonly string Manifest = typeof(LabDrainTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "MigrationManifest").Value!;

    /// <summary>psmig on a host, with the lab's inventory (and for the verbs that move VMs, its PKI and this host's run directory).</summary>
    private string[] Psmig(LabHost host, params string[] args) =>
        ["dotnet", DrainLabFixture.Psmig, .. args, "--inventory", lab.Inventory, .. args[0] == "policy" ? [] : new[] { "--pki", lab.Pki, "--run-dir", lab.RunOf(host) }];

    private ExecResult Run(LabHost host, params string[] args)
    {
        var exec = lab.Exec(host, TimeSpan.FromMinutes(3), Psmig(host, args));
        output.WriteLine($"{LabAddresses.Name(host)}$ psmig {string.Join(' ', args)}\n{exec}");
        return exec;
    }

    private static LabHost Host(string name) => Hosts.Single(h => LabAddresses.Name(h) == name);

    private static JsonElement Json(string stdout) =>
        stdout.TrimStart().StartsWith('{') ? JsonDocument.Parse(stdout).RootElement : throw new XunitException($"no JSON: {stdout}");

    private static List<string> Names(JsonElement summary, string property) =>
        summary.GetProperty(property).EnumerateArray().Select(e => e.GetString()!).ToList();

    /// <summary>The VM's QEMU runs on <paramref name="host"/> and nowhere else, and its guest finds its memory intact there.</summary>
    private void AssertRunsIntactOnlyOn(string vm, LabHost host)
    {
        var clock = Stopwatch.StartNew();
        while (QemuHostsOf(vm) is var where && !(where.Count == 1 && where[0] == host) && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(200);
        Assert.Equal([host], QemuHostsOf(vm));
        var serial = new SerialLog(Path.Combine(lab.RunOf(host), vm + ".serial"));
        var seen = serial.Lines().Count(SerialLog.IsMemcheckOk);
        serial.WaitForAsync(SerialLog.IsMemcheckOk, seen + 1, 0, GuestTimeout, CancellationToken.None).GetAwaiter().GetResult(); // a new pass, or it throws
    }

    /// <summary>The lab hosts where a QEMU of the VM runs (its serial file is in that host's run directory).</summary>
    private List<LabHost> QemuHostsOf(string vm) => Hosts.Where(host =>
    {
        var ps = lab.Exec(host, "sh", "-c", $"for p in $(ip netns pids {lab.Namespace(host)}); do tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null; echo; done");
        return ps.Stdout.Split('\n').Any(line => line.Contains("qemu-system", StringComparison.Ordinal) &&
                                                  line.Contains($"file:{Path.Combine(lab.RunOf(host), vm)}.serial ", StringComparison.Ordinal));
    }).ToList();
}
