using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

namespace PSMigration.Core.Tests;

/// <summary>The drain plan (<c>Get-MigrationPlan -FromHost</c>): every VM of a host placed where it fits, largest first,
/// on the fastest path; hosts in maintenance or another cluster never used; what cannot move said with every host's
/// reason; the moves scheduled within maxConcurrentOutgoing and maxConcurrentIncoming, with their predicted times.</summary>
public class DrainPlannerTests
{
    /// <summary>kvm01 holds four VMs. kvm02 has a 10 Gbit/s migration link to it and 16 GiB; kvm03 only the 1 Gbit/s LAN
    /// and 64 GiB; kvm04 is in maintenance; kvm05 is in another cluster. One move at a time into each host.</summary>
    private const string Cluster = """
        networks:
          - name: lan
            cidr: 192.0.2.0/24
            role: management
          - name: mig
            cidr: 198.51.100.0/24
            role: migration
        clusters:
          - name: prod
            migration: { maxConcurrentIncoming: 1 }
          - name: test
        hosts:
          - name: kvm01
            cluster: prod
            cpuThreads: 32
            memoryMiB: 262144
            interfaces:
              - { name: eth0, addresses: [192.0.2.11/24], speedGbps: 1 }
              - { name: mig0, addresses: [198.51.100.11/24], speedGbps: 10 }
          - name: kvm02
            cluster: prod
            cpuThreads: 32
            memoryMiB: 20480
            reservedMemoryMiB: 4096
            interfaces:
              - { name: eth0, addresses: [192.0.2.12/24], speedGbps: 1 }
              - { name: mig0, addresses: [198.51.100.12/24], speedGbps: 10 }
          - name: kvm03
            cluster: prod
            cpuThreads: 32
            memoryMiB: 65536
            interfaces:
              - { name: eth0, addresses: [192.0.2.13/24], speedGbps: 1 }
          - name: kvm04
            cluster: prod
            cpuThreads: 32
            memoryMiB: 262144
            maintenance: true
            interfaces:
              - { name: eth0, addresses: [192.0.2.14/24], speedGbps: 1 }
              - { name: mig0, addresses: [198.51.100.14/24], speedGbps: 10 }
          - name: kvm05
            cluster: test
            cpuThreads: 32
            interfaces:
              - { name: eth0, addresses: [192.0.2.15/24], speedGbps: 1 }
        vms:
          - { name: small, host: kvm01, vcpus: 1, memoryMiB: 2048 }
          - { name: big, host: kvm01, vcpus: 4, memoryMiB: 12288 }
          - { name: huge, host: kvm01, vcpus: 8, memoryMiB: 100000 }
          - { name: mid, host: kvm01, vcpus: 2, memoryMiB: 6144 }
          - { name: stays, host: kvm03, vcpus: 1, memoryMiB: 1024 }

        """;

    private static DrainPlan Drain(string text = Cluster, IReadOnlyList<string>? destinations = null) =>
        DrainPlanner.Plan(InventoryLoader.Parse(text, "inv.yaml"), "kvm01", destinations);

    [Fact]
    public void Every_VM_goes_where_it_fits_largest_first_on_the_fastest_path()
    {
        var drain = Drain();

        Assert.Equal([("big", "kvm02", 1), ("mid", "kvm03", 2), ("small", "kvm02", 3)],
            drain.Plans.Select(p => (p.Vm, p.DestinationHost, p.Order!.Value)));
        Assert.Equal("mig", drain.Plans[0].Network);
        Assert.StartsWith("Drain of kvm01: kvm02 takes big (12288 MiB): the fastest path (10 Gbps), 4096 MiB left there after it; also possible: kvm03 (1 Gbps)",
            drain.Plans[0].Reasons[0]);
        Assert.Contains("not: kvm02 has 4096 MiB left, mid needs 6144 MiB", drain.Plans[1].Reasons[0]); // big took kvm02's room
    }

    [Fact]
    public void A_VM_no_host_can_take_is_named_with_every_hosts_reason_and_hosts_that_take_none_say_why()
    {
        var drain = Drain();

        var huge = Assert.Single(drain.Unplaced);
        Assert.Equal("huge", huge.Vm);
        Assert.Contains("kvm02 has 16384 MiB left, huge needs 100000 MiB", huge.Reason);
        Assert.Contains("kvm03 has 64512 MiB left, huge needs 100000 MiB", huge.Reason); // its own VM counts
        Assert.Contains(drain.Reasons, r => r.StartsWith("kvm04 takes no VM: in maintenance (inv.yaml:", StringComparison.Ordinal));
        Assert.Contains("kvm05 takes no VM: in cluster 'test', not kvm01's 'prod'.", drain.Reasons);
        Assert.DoesNotContain(drain.Plans, p => p.DestinationHost is "kvm04" or "kvm05");
    }

    [Fact]
    public void Moves_into_one_host_wait_for_each_other_and_the_times_add_up()
    {
        var drain = Drain();
        var (big, mid, small) = (drain.Plans[0], drain.Plans[1], drain.Plans[2]);

        Assert.Equal((0.0, 0.0), (big.StartsAtSeconds!.Value, mid.StartsAtSeconds!.Value)); // different hosts, different NICs
        Assert.Equal(Math.Round(2 + 12288 * 1048576.0 * 8 / 10e9, 1), big.PredictedSeconds); // one copy at 10 Gbit/s, and the set-up
        Assert.Equal(big.PredictedSeconds, small.StartsAtSeconds); // maxConcurrentIncoming 1: after big, into kvm02
        Assert.Equal(Math.Round(2 + 6144 * 1048576.0 * 8 / 1e9, 1), mid.PredictedSeconds);
        Assert.Equal(mid.PredictedSeconds, drain.PredictedSeconds); // the slowest move ends last
        Assert.Contains(drain.Reasons, r => r.Contains("at most 1 at once into kvm02 (maxConcurrentIncoming)", StringComparison.Ordinal));
    }

    [Fact]
    public void Moves_over_one_interface_share_it()
    {
        var text = Cluster.Replace("migration: { maxConcurrentIncoming: 1 }", "migration: {}");
        var drain = Drain(text, ["kvm03"]);

        var small = drain.Plans.Single(p => p.Vm == "small");
        Assert.All(drain.Plans, p => Assert.Equal(0.0, p.StartsAtSeconds)); // no limit: all at once
        Assert.Equal(Math.Round(2 + 3 * 2048 * 1048576.0 * 8 / 1e9, 1), small.PredictedSeconds); // beside big and mid on eth0: a third of the link
    }

    [Fact]
    public void Destinations_limit_the_hosts_and_an_unknown_one_is_an_error_with_a_did_you_mean()
    {
        var drain = Drain(destinations: ["KVM03"]);

        Assert.All(drain.Plans, p => Assert.Equal("kvm03", p.DestinationHost));
        Assert.Contains("kvm02 takes no VM: not among the destinations asked for.", drain.Reasons);
        var e = Assert.Throws<PSMigration.Core.Diagnostics.MigrationException>(() => Drain(destinations: ["kvm6"]));
        Assert.Equal("HostNotFound", e.ErrorId);
    }

    [Fact]
    public void A_host_that_declares_no_memory_is_used_unchecked_and_the_drain_says_so()
    {
        var text = Cluster.Replace("    memoryMiB: 65536\n", "");
        var drain = Drain(text);

        Assert.Contains("kvm03 declares no memoryMiB: what fits there is not checked.", drain.Reasons);
        Assert.Equal("kvm03", drain.Plans.Single(p => p.Vm == "huge").DestinationHost);
        Assert.Empty(drain.Unplaced);
    }
}
