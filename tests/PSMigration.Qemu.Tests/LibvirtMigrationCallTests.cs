using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;
using PSMigration.Qemu.Libvirt;
using PSMigration.Qemu.Migration;

namespace PSMigration.Qemu.Tests;

/// <summary>The one mapping from a plan to libvirt's migration call, and what -WhatIf shows of it. Planned only:
/// the real calls run against real libvirt daemons in the lab (LabLibvirtMigrationTests).</summary>
public sealed class LibvirtMigrationCallTests
{
    private const uint Live = 1 << 0, PeerToPeer = 1 << 1, Tunnelled = 1 << 2, PersistDest = 1 << 3, UndefineSource = 1 << 4,
        Compressed = 1 << 11, Postcopy = 1 << 15, Tls = 1 << 16, Parallel = 1 << 17;

    [Fact]
    public void Direct_parallel_is_a_live_peer_to_peer_migration_over_the_planned_address_never_tunnelled()
    {
        var call = Call("{ parallel: Custom, connections: 4, transport: direct, encryption: none }");

        Assert.Equal("qemu+tcp://10.0.0.2/system", call.DestinationUri);
        Assert.Equal(Live | PeerToPeer | PersistDest | UndefineSource | Parallel, call.Flags);
        Assert.Equal(0u, call.Flags & Tunnelled);
        Assert.Equal<(string, object)>([("migrate_uri", "tcp://198.51.100.2"), ("listen_address", "198.51.100.2"), ("parallel.connections", 4)],
            call.Parameters);
        Assert.Equal(300, call.MaxDowntimeMs);
    }

    [Fact]
    public void Tls_asks_libvirt_for_QEMUs_TLS_and_checks_the_destination_by_its_host_name()
    {
        var call = Call("{ parallel: Custom, connections: 2, transport: direct, encryption: tls }");

        Assert.Equal(Tls, call.Flags & Tls);
        Assert.Contains(("tls.destination", (object)"right"), call.Parameters);
    }

    [Fact]
    public void Engine_migrates_into_a_unix_socket_with_no_listen_address_and_leaves_encryption_to_the_engine()
    {
        var call = Call("{ parallel: Custom, connections: 4, transport: engine, encryption: tls }", engineSocket: "/run/psmigration/db01.ab12cd34.libvirt");

        Assert.Equal<(string, object)>([("migrate_uri", "unix:///run/psmigration/db01.ab12cd34.libvirt"), ("parallel.connections", 4)], call.Parameters);
        Assert.Equal(0u, call.Flags & Tls);
        Assert.Equal(Parallel, call.Flags & Parallel);
    }

    [Fact]
    public void Copy_storage_names_each_disk_and_through_the_engine_gives_libvirts_NBD_server_a_unix_socket()
    {
        const uint NonSharedDisk = 1 << 6;
        var request = Request(Inventory("{ parallel: Disabled, transport: engine, encryption: tls }"));

        var call = LibvirtMigrationBackend.CallFor(request, true, "/run/psmigration/db01.ab12cd34.libvirt", ["vda", "vdb"], "/run/psmigration/db01.ab12cd34.disks.libvirt");

        Assert.Equal(NonSharedDisk, call.Flags & NonSharedDisk);
        Assert.Equal<(string, object)>([("migrate_uri", "unix:///run/psmigration/db01.ab12cd34.libvirt"), ("migrate_disks", "vda"), ("migrate_disks", "vdb"),
            ("disks_uri", "unix:///run/psmigration/db01.ab12cd34.disks.libvirt")], call.Parameters);
        Assert.Contains(" --copy-storage-all ", call.ToVirsh());
        Assert.Contains(" --migrate-disks vda,vdb --disks-uri unix:///run/psmigration/db01.ab12cd34.disks.libvirt ", call.ToVirsh());

        var direct = LibvirtMigrationBackend.CallFor(Request(Inventory("{ parallel: Disabled, transport: direct, encryption: tls }")), true, null, ["vda"]);
        Assert.Equal(NonSharedDisk | Tls, direct.Flags & (NonSharedDisk | Tls)); // libvirt's NBD with its TLS
        Assert.DoesNotContain(direct.Parameters, p => p.Name == "disks_uri");
    }

    [Fact]
    public void Compression_cap_postcopy_and_downtime_come_from_the_policy()
    {
        var call = Call("{ parallel: Disabled, transport: direct, compression: xbzrle, bandwidthGbps: 0.8, postcopy: true, maxDowntimeMs: 150 }");

        Assert.Equal(Compressed | Postcopy, call.Flags & (Compressed | Postcopy | Parallel));
        Assert.Contains(("compression", (object)"xbzrle"), call.Parameters);
        Assert.Contains(("bandwidth", (object)95L), call.Parameters); // 0.8 Gbit/s = 95.4 MiB/s
        Assert.Contains(("bandwidth.postcopy", (object)95L), call.Parameters); // the cap holds after a switch too
        Assert.DoesNotContain(call.Parameters, p => p.Name == "parallel.connections");
        Assert.Equal(150, call.MaxDowntimeMs);
        Assert.DoesNotContain(Call("{ parallel: Disabled, bandwidthGbps: 0.8 }").Parameters, p => p.Name == "bandwidth.postcopy");
    }

    [Fact]
    public void A_broken_post_copy_is_resumed_by_the_same_call_with_postcopy_resume()
    {
        var call = Call("{ parallel: Disabled, transport: direct, postcopy: true }");

        var resuming = call.Resuming();

        Assert.Equal(call.Flags | (1u << 19), resuming.Flags);
        Assert.Equal(call.Parameters, resuming.Parameters);
        Assert.Contains("VIR_MIGRATE_POSTCOPY_RESUME", resuming.Describe());
        Assert.Contains("--postcopy-resume", resuming.ToVirsh());
        Assert.DoesNotContain("POSTCOPY_RESUME", call.Describe());
    }

    [Fact]
    public void A_transient_domain_has_no_definition_to_move()
    {
        var call = Call("{ transport: direct }", persistent: false);

        Assert.Equal(0u, call.Flags & (PersistDest | UndefineSource));
    }

    [Fact]
    public void The_C_call_and_the_virsh_command_line_show_the_same_migration()
    {
        var call = Call("{ parallel: Custom, connections: 4, transport: direct, encryption: tls }");

        Assert.Equal("virDomainMigrateToURI3(domain 'db01' at qemu:///system, \"qemu+tcp://10.0.0.2/system\", " +
                     "{migrate_uri: \"tcp://198.51.100.2\", listen_address: \"198.51.100.2\", parallel.connections: 4, tls.destination: \"right\"}, " +
                     "VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE | VIR_MIGRATE_TLS | VIR_MIGRATE_PARALLEL); " +
                     "then virDomainMigrateSetMaxDowntime(300 ms)", call.Describe());
        Assert.Equal("virsh -c qemu:///system migrate --live --p2p --persistent --undefinesource --tls --parallel " +
                     "--migrateuri tcp://198.51.100.2 --listen-address 198.51.100.2 --parallel-connections 4 --tls-destination right " +
                     "db01 qemu+tcp://10.0.0.2/system (and virsh migrate-setmaxdowntime db01 300 while it runs)", call.ToVirsh());
    }

    [Fact]
    public void WhatIf_shows_the_exact_libvirt_call_and_for_the_engine_the_relay_to_libvirts_socket()
    {
        var direct = MigrationBackends.Describe(Request(Inventory("{ parallel: Custom, connections: 2, transport: direct }")));
        var engine = MigrationBackends.Describe(Request(Inventory("{ parallel: Custom, connections: 2, transport: engine, encryption: tls }")));

        Assert.Contains(direct, s => s.StartsWith("source libvirt: virDomainMigrateToURI3(domain 'db01' at qemu:///system, \"qemu+tcp://10.0.0.2/system\"", StringComparison.Ordinal));
        Assert.Contains(direct, s => s.StartsWith("the same with virsh: virsh -c qemu:///system migrate --live --p2p", StringComparison.Ordinal));
        Assert.DoesNotContain(direct, s => s.StartsWith("engine:", StringComparison.Ordinal));
        Assert.Contains(engine, s => s.Contains("relay to libvirt's incoming socket /run/psmigration/db01.<id>.libvirt", StringComparison.Ordinal));
        Assert.Contains(engine, s => s.StartsWith("engine: 3 connection(s) from 198.51.100.1 to 198.51.100.2:49152 over 'mig' with TLS", StringComparison.Ordinal));
        Assert.Contains(engine, s => s.Contains("migrate_uri: \"unix:///run/psmigration/db01.<id>.libvirt\"", StringComparison.Ordinal));
    }

    [Fact]
    public void A_host_without_a_libvirt_uri_is_reached_at_libvirts_recommended_TLS_URI()
    {
        var inventory = Inventory("{}").Host("left");

        Assert.Equal("qemu+tls://left/system", inventory.LibvirtUri);
    }

    private static LibvirtMigrationCall Call(string policy, bool persistent = true, string? engineSocket = null) =>
        LibvirtMigrationBackend.CallFor(Request(Inventory(policy)), persistent, engineSocket);

    private static MigrationRequest Request(MigrationInventory inventory) =>
        MigrationRequest.For(inventory, MigrationPlanner.Plan(inventory, "db01", "right"), "/nonexistent/pki") with { RunDirectory = "/run/psmigration" };

    private static MigrationInventory Inventory(string policy) => InventoryLoader.Parse($$"""
        networks:
          - name: mig
            cidr: 198.51.100.0/24
            role: migration
        clusters:
          - name: lab
            migration: {{policy}}
        hosts:
          - name: left
            cluster: lab
            cpuThreads: 8
            interfaces:
              - name: mig0
                addresses: [198.51.100.1/24]
                speedGbps: 10
          - name: right
            cluster: lab
            cpuThreads: 8
            libvirt: { uri: "qemu+tcp://10.0.0.2/system" }
            interfaces:
              - name: mig0
                addresses: [198.51.100.2/24]
                speedGbps: 10
        vms:
          - name: db01
            host: left
            vcpus: 2
            memoryMiB: 2048
            libvirt: { domain: db01 }
        """, "/tmp/libvirt-call.yaml");
}
