namespace PSMigration.Cli.Tests;

/// <summary><c>psmig host suspend|resume</c>: the host's maintenance line in the inventory, the JSON summary, --what-if;
/// with --drain and --failback, the plan they would run (--what-if), the input they refuse, and the runs that need no
/// migration or cannot start here.</summary>
public class HostCommandTests : IDisposable
{
    private const string NoPki = "/nonexistent/psmig-pki";
    private readonly SampleCopies copies = new();

    [Fact]
    public void Suspend_puts_the_host_in_maintenance_and_resume_restores_the_file()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var suspended = Cli.Run("host", "suspend", "-i", path, "--host", "KVM01", "--json");

        Assert.Equal(0, suspended.ExitCode);
        var json = suspended.Json;
        Assert.Equal(("kvm01", true, true), (json.GetProperty("host").GetString(), json.GetProperty("maintenance").GetBoolean(), json.GetProperty("changed").GetBoolean()));
        Assert.Equal(["web01", "db01"], json.GetProperty("remaining").EnumerateArray().Select(v => v.GetString()));
        var plan = Cli.Run("plan", "-i", path, "--vm", "build01", "-d", "kvm01");
        Assert.Equal(1, plan.ExitCode);
        Assert.Contains("kvm01 is in maintenance", plan.Stderr);

        var resumed = Cli.Run("host", "resume", "-i", path, "--host", "kvm01");
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("kvm01: out of maintenance; ", resumed.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void What_if_changes_nothing_and_an_unknown_host_is_a_usage_error()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var preview = Cli.Run("host", "suspend", "-i", path, "--host", "kvm02", "--what-if");
        Assert.Equal(0, preview.ExitCode);
        Assert.Contains("(what-if: ", preview.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));

        var unknown = Cli.Run("host", "suspend", "-i", path, "--host", "kvm9");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("kvm9", unknown.Stderr);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Drain_what_if_json_prints_the_drain_plan_and_changes_nothing()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var result = Cli.Run("host", "suspend", "-i", path, "--host", "KVM01", "--drain", "--what-if", "--json");

        Assert.Equal(0, result.ExitCode);
        var drain = result.Json;
        Assert.Equal("kvm01", drain.GetProperty("host").GetString());
        Assert.Equal([("db01", "kvm02", 1), ("web01", "kvm02", 2)], drain.GetProperty("plans").EnumerateArray()
            .Select(p => (p.GetProperty("vm").GetString(), p.GetProperty("destinationHost").GetString(), p.GetProperty("order").GetInt32())));
        Assert.Empty(drain.GetProperty("unplaced").EnumerateArray());
        Assert.True(drain.GetProperty("predictedSeconds").GetDouble() > 0);
        Assert.Equal(1, drain.GetProperty("maxConcurrentOutgoing").GetInt32());
        Assert.Contains(drain.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.Contains("at most 1 at once from kvm01 (maxConcurrentOutgoing)"));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(DrainRecords(path));

        var text = Cli.Run("host", "suspend", "-i", path, "--host", "kvm01", "--drain", "--what-if", "-d", "kvm03");
        Assert.Equal(0, text.ExitCode);
        Assert.StartsWith("What if: drain of kvm01: 2 move(s), predicted ", text.Stdout);
        Assert.Contains(" 1. db01 -> kvm03 over 'lan'", text.Stdout);
        Assert.Contains("kvm02 takes no VM: not among the destinations asked for.", text.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(DrainRecords(path));
    }

    [Fact]
    public void Destination_without_drain_is_a_usage_error_that_changes_nothing()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var result = Cli.Run("host", "suspend", "-i", path, "--host", "kvm01", "--destination", "kvm02");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--destination chooses where a drain moves VMs: give --drain too", result.Stderr);
        Assert.Equal("", result.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));

        var json = Cli.Run("host", "suspend", "-i", path, "--host", "kvm01", "-d", "kvm02", "--json");
        Assert.Equal(2, json.ExitCode);
        Assert.Equal("", json.Stdout);

        var resume = Cli.Run("host", "resume", "-i", path, "--host", "kvm01", "--destination", "kvm02");
        Assert.Equal(2, resume.ExitCode); // resume has no --destination: a failback brings VMs back to the host
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Failback_what_if_without_a_drain_record_says_there_is_nothing_to_bring_back()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var text = Cli.Run("host", "resume", "-i", path, "--host", "kvm01", "--failback", "--what-if");
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("What if: failback to kvm01: 0 move(s)", text.Stdout);
        Assert.Contains("No drain of kvm01 has moved a VM that is not back yet: nothing to bring back.", text.Stdout);

        var json = Cli.Run("host", "resume", "-i", path, "--host", "KVM01", "--failback", "--what-if", "--json").Json;
        Assert.Equal("kvm01", json.GetProperty("host").GetString());
        Assert.Empty(json.GetProperty("plans").EnumerateArray());
        Assert.Equal(["No drain of kvm01 has moved a VM that is not back yet: nothing to bring back."], json.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(DrainRecords(path));
    }

    [Fact]
    public void Failback_what_if_plans_the_recorded_vms_back_and_leaves_the_record()
    {
        var path = SampleCopy();
        var record = Path.Combine(Path.GetDirectoryName(path)!, ".inventory.yaml.drained-kvm01.json");
        File.WriteAllText(record, """
            { "host": "kvm01", "moves": [
              { "vm": "build01", "destination": "kvm02", "movedAt": "2026-01-01T00:00:00Z" },
              { "vm": "web01", "destination": "kvm03", "movedAt": "2026-01-01T00:00:00Z" } ] }
            """);
        var (inventoryBefore, recordBefore) = (File.ReadAllBytes(path), File.ReadAllBytes(record));

        var result = Cli.Run("host", "resume", "-i", path, "--host", "kvm01", "--failback", "--what-if", "--json");

        Assert.Equal(0, result.ExitCode);
        var plan = Assert.Single(result.Json.GetProperty("plans").EnumerateArray().ToList());
        Assert.Equal(("build01", "kvm02", "kvm01"), (plan.GetProperty("vm").GetString(), plan.GetProperty("sourceHost").GetString(), plan.GetProperty("destinationHost").GetString()));
        Assert.Equal(["web01 is on kvm01 already; the drain record forgets it."], result.Json.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal(inventoryBefore, File.ReadAllBytes(path));
        Assert.Equal(recordBefore, File.ReadAllBytes(record));
    }

    [Fact]
    public void A_drain_and_a_failback_without_vms_to_move_run_for_real_and_report_their_summary()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var drained = Cli.Run("host", "suspend", "-i", path, "--host", "kvm03", "--drain", "--pki", NoPki, "--json");

        Assert.Equal(0, drained.ExitCode); // no VM on kvm03: nothing to migrate, no certificate needed
        var summary = drained.Json;
        Assert.Equal(("kvm03", true), (summary.GetProperty("host").GetString(), summary.GetProperty("maintenance").GetBoolean()));
        foreach (var list in new[] { "moved", "failed", "remaining", "results" }) Assert.Empty(summary.GetProperty(list).EnumerateArray());
        Assert.Equal(path, summary.GetProperty("inventoryPath").GetString());
        Assert.Contains("    maintenance: true\n", File.ReadAllText(path));
        Assert.Empty(DrainRecords(path));

        var back = Cli.Run("host", "resume", "-i", path, "--host", "kvm03", "--failback", "--pki", NoPki);
        Assert.Equal(0, back.ExitCode);
        Assert.Contains("note: No drain of kvm03 has moved a VM that is not back yet: nothing to bring back.", back.Stdout);
        Assert.Contains("kvm03: out of maintenance; moved 0", back.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_failback_forgets_the_recorded_vms_that_moved_since_and_removes_the_emptied_record()
    {
        var path = SampleCopy();
        var record = Path.Combine(Path.GetDirectoryName(path)!, ".inventory.yaml.drained-kvm01.json");
        File.WriteAllText(record, """{ "host": "kvm01", "moves": [ { "vm": "build01", "destination": "kvm03", "movedAt": "2026-01-01T00:00:00Z" } ] }""");

        var result = Cli.Run("host", "resume", "-i", path, "--host", "kvm01", "--failback", "--pki", NoPki, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["build01 stays on kvm02: it has moved since the drain put it on kvm03; the drain record forgets it."],
            result.Json.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
        Assert.Empty(result.Json.GetProperty("remaining").EnumerateArray());
        Assert.False(File.Exists(record));
    }

    [Fact]
    public void A_drain_that_cannot_start_leaves_the_inventory_and_the_record_alone()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var noPki = Cli.Run("host", "suspend", "-i", path, "--host", "kvm01", "--drain", "--pki", NoPki, "--json");

        Assert.Equal(2, noPki.ExitCode);
        Assert.Contains($"The cluster PKI file {NoPki}/ca.crt is missing", noPki.Stderr);
        Assert.Equal("", noPki.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));

        var pki = Path.Combine(Path.GetDirectoryName(path)!, "pki");
        Assert.Equal(0, Cli.Run("cert", "init", "-i", path, "--out", pki).ExitCode);
        var elsewhere = Cli.Run("host", "suspend", "-i", path, "--host", "kvm01", "--drain", "--pki", pki);

        Assert.Equal(2, elsewhere.ExitCode); // no address of the sample is on this machine: it is no host of the cluster
        Assert.Contains("this machine is not kvm01", elsewhere.Stderr);
        Assert.Contains("run psmig on a host of the cluster", elsewhere.Stderr);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(DrainRecords(path));
    }

    [Fact]
    public void An_unreadable_drain_record_is_an_error_naming_the_file()
    {
        var path = SampleCopy();
        var record = Path.Combine(Path.GetDirectoryName(path)!, ".inventory.yaml.drained-kvm01.json");
        File.WriteAllText(record, "{ \"host\": \"kvm01\", \"moves\": [");

        var result = Cli.Run("host", "resume", "-i", path, "--host", "kvm01", "--failback", "--what-if");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"Cannot read {record}, the record of what drains moved off kvm01", result.Stderr);
        Assert.True(File.Exists(record));
    }

    private static string[] DrainRecords(string inventory) =>
        Directory.GetFiles(Path.GetDirectoryName(inventory)!, $".{Path.GetFileName(inventory)}.drained-*");

    private string SampleCopy() => copies.Make();

    public void Dispose()
    {
        copies.Dispose();
    }
}
