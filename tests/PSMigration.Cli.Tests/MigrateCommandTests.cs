namespace PSMigration.Cli.Tests;

/// <summary><c>psmig migrate</c> up to the point where it would touch a VM: --what-if (plan and steps,
/// no PKI needed), the input it refuses, and a real run without the cluster PKI.</summary>
public class MigrateCommandTests : IDisposable
{
    private readonly SampleCopies copies = new();
    private const string NoPki = "/nonexistent/psmig-pki";

    [Fact]
    public void What_if_prints_the_plan_and_numbered_steps_without_a_pki()
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "web01", "-d", "kvm02", "--what-if", "--pki", NoPki);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.StartsWith("What if: migrating web01 from kvm01 to kvm02", result.Stdout);
        Assert.Contains("web01: kvm01 -> kvm02 over 'mig'", result.Stdout);
        Assert.Contains("  steps:", result.Stdout);
        Assert.Contains(" 1. source QMP /run/psmig/web01.qmp: query-status", result.Stdout);
        Assert.Contains("-incoming defer", result.Stdout);
        Assert.Contains("source QMP: migrate {\"uri\":\"tcp:198.51.100.12:<port>\"}", result.Stdout);
        Assert.Contains("web01 host: kvm01 -> kvm02", result.Stdout); // the inventory update it would make
        Assert.DoesNotContain("PKI file", result.Stderr);
        // Last, the convergence prediction: here, not kvm01, the guest cannot be sampled, and the step says so.
        Assert.EndsWith(". convergence: not predicted: web01 runs on kvm01, not on this machine: its dirty rate is sampled there", result.Stdout.TrimEnd());
    }

    [Fact]
    public void What_if_does_not_touch_the_inventory()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var result = Cli.Run("migrate", "-i", path, "--vm", "web01", "-d", "kvm02", "--what-if");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void What_if_for_a_libvirt_domain_prints_the_exact_libvirt_call_and_the_virsh_equivalent()
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "db01", "-d", "kvm02", "--transport", "direct", "--what-if", "--pki", NoPki);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains(" 1. source libvirt qemu:///system: domain db01 must be running or paused", result.Stdout);
        Assert.Contains("source libvirt: virDomainMigrateToURI3(domain 'db01' at qemu:///system, \"qemu+tls://kvm02/system\", " +
                        "{migrate_uri: \"tcp://198.51.100.12\", listen_address: \"198.51.100.12\", parallel.connections: 4, tls.destination: \"kvm02\"}, " +
                        "VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE | VIR_MIGRATE_TLS | VIR_MIGRATE_PARALLEL); " +
                        "then virDomainMigrateSetMaxDowntime(500 ms)", result.Stdout);
        Assert.Contains("virsh -c qemu:///system migrate --live --p2p --persistent --undefinesource --tls --parallel --migrateuri tcp://198.51.100.12 " +
                        "--listen-address 198.51.100.12 --parallel-connections 4 --tls-destination kvm02 db01 qemu+tls://kvm02/system", result.Stdout);
        Assert.Contains("db01 host: kvm01 -> kvm02", result.Stdout);
    }

    [Fact]
    public void Json_what_if_is_a_list_of_plan_and_steps()
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "web01", "-d", "kvm02", "--what-if", "--json", "--connections", "4", "--transport", "engine");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var entry = Assert.Single(result.Json.EnumerateArray().ToList());
        Assert.Equal(["plan", "steps"], entry.EnumerateObject().Select(p => p.Name));
        var plan = entry.GetProperty("plan");
        Assert.Equal("web01", plan.GetProperty("vm").GetString());
        Assert.Equal("kvm02", plan.GetProperty("destinationHost").GetString());
        Assert.Equal("engine", plan.GetProperty("transport").GetString());
        Assert.Equal(4, plan.GetProperty("connections").GetInt32());
        var failover = Assert.Single(plan.GetProperty("failover").EnumerateArray().ToList()); // the engine carries on over the LAN
        Assert.Equal("lan", failover.GetProperty("network").GetString());
        Assert.Equal("192.0.2.12", failover.GetProperty("destinationAddress").GetString());
        var steps = entry.GetProperty("steps").EnumerateArray().Select(s => s.GetString()!).ToList();
        Assert.Contains(steps, s => s.Contains("migrate-set-parameters", StringComparison.Ordinal) && s.Contains("\"multifd-channels\":4", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.StartsWith("engine: 5 connection(s)", StringComparison.Ordinal));
        Assert.StartsWith("convergence: not predicted: web01 runs on kvm01", steps[^1]);
        Assert.False(plan.TryGetProperty("prediction", out _)); // only a sampled guest has one
    }

    [Fact]
    public void Copy_storage_makes_the_plan_copy_the_disks_for_this_run_only()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var result = Cli.Run("migrate", "-i", path, "--vm", "web01", "-d", "kvm02", "--copy-storage", "--what-if", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var plan = Assert.Single(result.Json.EnumerateArray().ToList()).GetProperty("plan");
        Assert.Equal("copy", plan.GetProperty("storage").GetString());
        Assert.Contains(plan.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.StartsWith("storage: copy (from parameter)", StringComparison.Ordinal));
        Assert.Equal(before, File.ReadAllBytes(path)); // the policy is not changed

        var without = Cli.Run("migrate", "-i", path, "--vm", "web01", "-d", "kvm02", "--what-if");
        Assert.Contains("storage shared", without.Stdout);
    }

    [Fact]
    public void Postcopy_after_0_with_what_if_plans_postcopy_for_this_run_only()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var result = Cli.Run("migrate", "-i", path, "--vm", "web01", "-d", "kvm02", "--postcopy-after", "0", "--what-if", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var entry = Assert.Single(result.Json.EnumerateArray().ToList());
        var plan = entry.GetProperty("plan");
        Assert.True(plan.GetProperty("postcopy").GetBoolean());
        Assert.False(plan.GetProperty("parallel").GetBoolean());
        Assert.Equal(1, plan.GetProperty("connections").GetInt32());
        Assert.Equal("cancel", plan.GetProperty("timeoutAction").GetString());
        Assert.Contains(entry.GetProperty("steps").EnumerateArray(), s => s.GetString()!.Contains("\"postcopy-ram\",\"state\":true", StringComparison.Ordinal));
        Assert.Equal(before, File.ReadAllBytes(path)); // the policy is not changed

        var text = Cli.Run("migrate", "-i", path, "--vm", "web01", "-d", "kvm02", "--postcopy-after", "0", "--what-if");
        Assert.Contains("postcopy on", text.Stdout);
        Assert.Contains("then cancel (migrate_cancel; it runs on at kvm01); switch to post-copy (migrate-start-postcopy, the twin committed at once) " +
                        "once the first pass has sent all of RAM, as asked for this run: from then on it runs at kvm02 and kvm01 can no longer resume it", text.Stdout);
        var later = Cli.Run("migrate", "-i", path, "--vm", "web01", "-d", "kvm02", "--postcopy-after", "30", "--what-if");
        Assert.Contains("switch to post-copy (migrate-start-postcopy, the twin committed at once) 30 s after memory starts moving", later.Stdout);

        var without = Cli.Run("migrate", "-i", path, "--vm", "web01", "-d", "kvm02", "--what-if");
        Assert.Contains("postcopy off", without.Stdout);
        Assert.DoesNotContain("switch to post-copy", without.Stdout);
    }

    [Fact]
    public void Postcopy_after_with_parallel_Custom_is_bad_input_naming_the_rule()
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "db01", "-d", "kvm02", "--postcopy-after", "0", "--what-if");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("The requested settings break a policy rule: VM 'db01': postcopy: true cannot be combined with parallel: Custom", result.Stderr);
        Assert.Contains("(postcopy from parameter, parallel from VM 'db01')", result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("86401")]
    public void Postcopy_after_out_of_range_is_bad_input(string seconds)
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "web01", "-d", "kvm02", "--postcopy-after", seconds, "--what-if");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"--postcopy-after must be 0 to 86400 seconds (0: once the first pass has sent all of RAM), not {seconds}", result.Stderr);
    }

    [Fact]
    public void Several_vms_give_one_entry_each()
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "web01", "--vm", "db01", "-d", "kvm02", "--what-if", "--json");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(["web01", "db01"], result.Json.EnumerateArray().Select(e => e.GetProperty("plan").GetProperty("vm").GetString()));
        // db01 is a libvirt domain: libvirt migrates it
        Assert.Contains("source libvirt qemu:///system: domain db01", result.Json[1].GetProperty("steps")[0].GetString());
    }

    [Fact]
    public void Unknown_vm_is_bad_input_with_a_suggestion()
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "web1", "-d", "kvm02", "--what-if");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("There is no VM 'web1'", result.Stderr);
        Assert.Contains("did you mean 'web01'?", result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("256")]
    public void Connections_out_of_range_are_bad_input(string connections)
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "web01", "-d", "kvm02", "--connections", connections, "--what-if");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"Connections must be 1 to 255 (1 turns parallel off), not {connections}", result.Stderr);
    }

    [Fact]
    public void Unknown_transport_is_bad_input_naming_the_choices()
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "web01", "-d", "kvm02", "--transport", "bogus", "--what-if");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--transport must be one of direct, engine, not 'bogus'", result.Stderr);
    }

    [Fact]
    public void Non_positive_timeout_is_bad_input()
    {
        var result = Cli.Run("migrate", "-i", Cli.Sample, "--vm", "web01", "-d", "kvm02", "--timeout", "0", "--what-if");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--timeout must be a positive number of seconds", result.Stderr);
    }

    [Fact]
    public void Real_migrate_without_the_cluster_pki_names_the_missing_file_and_touches_nothing()
    {
        var path = SampleCopy();
        var before = File.ReadAllBytes(path);

        var result = Cli.Run("migrate", "-i", path, "--vm", "web01", "-d", "kvm02", "--pki", NoPki);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"The cluster PKI file {NoPki}/ca.crt is missing", result.Stderr);
        Assert.Contains("psmig cert init", result.Stderr);
        Assert.Equal("", result.Stdout);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    private string SampleCopy() => copies.Make();

    public void Dispose()
    {
        copies.Dispose();
    }
}
