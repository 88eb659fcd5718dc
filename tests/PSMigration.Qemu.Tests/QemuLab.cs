using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using PSMigration.Cli.Demo;
using PSMigration.Core.Inventory;
using PSMigration.Engine.Agent;
using PSMigration.Engine.Security;
using PSMigration.Qemu.Incoming;
using PSMigration.Qemu.Qmp;

namespace PSMigration.Qemu.Tests;

/// <summary>Every test that needs the lab runs in this collection, one at a time (2 cores, real VMs).</summary>
[CollectionDefinition(Name)]
public sealed class QemuLabCollection : ICollectionFixture<QemuLab>
{
    public const string Name = "QEMU lab";
}

/// <summary>A test guest to put in the inventory: its memory and how fast it dirties it.</summary>
/// <param name="DiskMiB">When above 0, a qcow2 disk of this size (<see cref="DiskKey"/>, at <see cref="DiskPath"/>): the
/// source's image holds a pattern over its first half.</param>
/// <param name="DiskFolder">A folder under the run directory for the disk (a small filesystem on "right", say).</param>
public sealed record GuestSpec(string Name, int MemoryMiB = 128, int DirtyMiBps = 10, int DiskMiB = 0, string? DiskFolder = null)
{
    public const string DiskKey = "disk0";

    /// <summary>The disk's image in the inventory, under {runDir}.</summary>
    public string DiskPath => $"{Launch.RunDirectory.Placeholder}/{(DiskFolder is null ? "" : DiskFolder + "/")}{Name}.qcow2";

    public IEnumerable<string> DiskArgs => DiskMiB > 0 ? ["-drive", $"file={DiskPath},format=qcow2,id={DiskKey},if=virtio"] : [];
}

/// <summary>
/// Two hosts on this machine, as in <c>psmig demo</c>: "left" (127.0.0.1) and "right" (127.0.0.2)
/// share loopback. Built once for the collection: the test guest (gcc), a cluster PKI, and the agent
/// of "right" in-process on a free port, starting twins with a real <see cref="QemuTwinHost"/> in
/// <see cref="RightRunDirectory"/>. Each test starts its own VMs on "left" with <see cref="StartAsync"/>.
/// At the end no QEMU started under <see cref="Root"/> may be left running.
/// </summary>
public sealed class QemuLab : IAsyncLifetime
{
    public const string SourceHost = "left";
    public const string DestinationHost = "right";
    /// <summary>A placeholder port for inventories that are only planned (the PKI, -WhatIf steps).</summary>
    public const int UnusedPort = 49152;

    private readonly HashSet<string> vmNames = new();
    private readonly List<GuestSpec> registered = new();
    private int runs;

    public string Root { get; private set; } = null!;
    public string Kernel { get; private set; } = null!;
    public string PkiDirectory => Path.Combine(Root, "pki");
    public string RightRunDirectory => Path.Combine(Root, "right");
    /// <summary>The inventory of "right"'s agent: every guest the tests registered, on "left" (the agent starts twins from it).</summary>
    public string AgentInventoryPath => Path.Combine(Root, "right-inventory.yaml");
    public HostCredentials LeftCredentials { get; private set; } = null!;
    public HostCredentials RightCredentials { get; private set; } = null!;
    /// <summary>A third host of the cluster ("other", 127.0.0.3): valid certificate, holds no VM.</summary>
    public HostCredentials OtherCredentials { get; private set; } = null!;
    public MigrationAgent Agent { get; private set; } = null!;
    public int AgentPort => Agent.Endpoints[0].Port;
    public ConcurrentQueue<string> AgentLog { get; } = new();

    public Task InitializeAsync()
    {
        if (QemuEnvironment.SkipReason is not null) return Task.CompletedTask; // every test is skipped
        QemuEnvironment.EnsureAvailable();
        Root = Directory.CreateTempSubdirectory("psmig-qemu-").FullName;
        Kernel = TestGuest.Build(Root);
        Operations.ClusterCertificates.Initialize(InventoryLoader.Parse(InventoryYaml(Kernel, UnusedPort, "{}", []) + OtherHostYaml, "pki.yaml"), PkiDirectory);
        LeftCredentials = ClusterPki.Load(PkiDirectory, SourceHost);
        RightCredentials = ClusterPki.Load(PkiDirectory, DestinationHost);
        OtherCredentials = ClusterPki.Load(PkiDirectory, OtherHost);
        WriteAgentInventory();
        Agent = StartAgent(new QemuTwinHost(TwinOptions(RightRunDirectory, [QemuEnvironment.QemuBinary])));
        return Task.CompletedTask;
    }

    public const string OtherHost = "other";

    private const string OtherHostYaml = """
          - name: other
            cluster: lab
            cpuThreads: 4
            interfaces:
              - name: lo
                addresses: [127.0.0.3/8]
                speedGbps: 10

        """;

    /// <summary>How "right" starts twins: from <see cref="AgentInventoryPath"/>, with these binaries, files in
    /// <paramref name="runDirectory"/>, the guest's kernel under the lab's root, the lab's PKI.</summary>
    public QemuTwinOptions TwinOptions(string runDirectory, IReadOnlyList<string> binaries) => new()
    {
        HostName = DestinationHost,
        InventoryPath = AgentInventoryPath,
        StorageRoots = [Root],
        Binaries = binaries,
        RunDirectory = runDirectory,
        PkiDirectory = PkiDirectory,
        Log = AgentLog.Enqueue,
    };

    /// <summary>An agent of "right" on 127.0.0.2 and a free port, serving "left" only.</summary>
    internal MigrationAgent StartAgent(QemuTwinHost incoming) => MigrationAgent.Start(new AgentOptions
    {
        Authority = incoming.Inventory,
        HostName = DestinationHost,
        Listen = [new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0)],
        Credentials = RightCredentials,
        AllowFrom = [IPNetwork.Parse("127.0.0.1/32")],
        // Generous, as in production: on a loaded 2-core machine a TLS handshake can take seconds.
        HandshakeTimeout = TimeSpan.FromSeconds(10),
        Log = AgentLog.Enqueue,
        Incoming = incoming,
    });

    /// <summary>Writes an inventory of <paramref name="guests"/> on "left" with the cluster policy
    /// <paramref name="policy"/> (a flow mapping) and, unless <paramref name="startVms"/> is false, starts them.</summary>
    public async Task<LabRun> StartAsync(string policy, GuestSpec[] guests, bool startVms = true, int? agentPort = null)
    {
        lock (vmNames)
        {
            foreach (var guest in guests)
                if (!vmNames.Add(guest.Name))
                    throw new InvalidOperationException($"test setup: VM name '{guest.Name}' is used twice; twins of one name would share files on 'right'");
            registered.AddRange(guests);
            WriteAgentInventory();
        }
        var directory = Path.Combine(Root, "runs", $"{Interlocked.Increment(ref runs)}-{guests[0].Name}");
        var run = new LabRun(this, directory, guests);
        Directory.CreateDirectory(run.LeftRunDirectory);
        File.WriteAllText(run.InventoryPath, InventoryYaml(Kernel, agentPort ?? AgentPort, policy, guests));
        if (startVms)
        {
            try
            {
                foreach (var guest in guests) await run.StartSourceAsync(guest.Name);
            }
            catch
            {
                await run.DisposeAsync();
                throw;
            }
        }
        return run;
    }

    /// <summary>The lab's inventory: network "loop" (127/8), hosts left and right in cluster "lab"
    /// with <paramref name="policy"/>, and the guests on left, their files in <c>{runDir}</c>.</summary>
    public static string InventoryYaml(string kernel, int agentPort, string policy, IEnumerable<GuestSpec> guests)
    {
        var port = agentPort.ToString(CultureInfo.InvariantCulture);
        var text = new StringBuilder($$"""
            # The QEMU tests' lab: two hosts sharing loopback.
            networks:
              - name: loop
                cidr: 127.0.0.0/8
                role: migration

            clusters:
              - name: lab
                migration: {{policy}}

            hosts:
              - name: left
                cluster: lab
                cpuThreads: 4
                agent: { port: {{port}} }
                interfaces:
                  - name: lo
                    addresses: [127.0.0.1/8]
                    speedGbps: 10
                    mtu: 65536
              - name: right
                cluster: lab
                cpuThreads: 4
                agent: { port: {{port}} }
                interfaces:
                  - name: lo
                    addresses: [127.0.0.2/8]
                    speedGbps: 10
                    mtu: 65536

            """);
        text.Append('\n');
        var list = guests.ToList();
        if (list.Count > 0) text.Append("vms:\n");
        foreach (var guest in list)
        {
            var args = TestGuest.Args(kernel, guest.MemoryMiB, guest.DirtyMiBps, $"{Launch.RunDirectory.Placeholder}/{guest.Name}.serial").Concat(guest.DiskArgs);
            text.Append(CultureInfo.InvariantCulture, $"""
                  - name: {guest.Name}
                    host: left
                    vcpus: 1
                    memoryMiB: {guest.MemoryMiB}
                    qemu:
                      qmp: "{Launch.RunDirectory.Placeholder}/{guest.Name}.qmp"
                      args: {JsonSerializer.Serialize(args)}

                """);
        }
        return text.ToString();
    }

    /// <summary>Rewrites "right"'s inventory with every registered guest on "left".</summary>
    private void WriteAgentInventory() => ReplaceAgentInventory(InventoryYaml(Kernel, UnusedPort, "{}", registered));

    /// <summary>Changes "right"'s own copy of the inventory (as an operator would edit it there).</summary>
    public void EditAgentInventory(Func<string, string> edit)
    {
        lock (vmNames) ReplaceAgentInventory(edit(File.ReadAllText(AgentInventoryPath)));
    }

    /// <summary>A new file in place of the old, so the agent's inventory cache sees the change at once.</summary>
    private void ReplaceAgentInventory(string text)
    {
        var temporary = AgentInventoryPath + ".new";
        File.WriteAllText(temporary, text);
        File.Move(temporary, AgentInventoryPath, overwrite: true);
    }

    /// <summary>The inventory with <paramref name="extra"/> appended to one VM's qemu args (a JSON list on one line).</summary>
    public static string AddArgs(string inventory, string vm, params string[] extra)
    {
        var at = inventory.IndexOf($"- name: {vm}\n", StringComparison.Ordinal);
        var argsAt = inventory.IndexOf("args: [", at, StringComparison.Ordinal) + "args: ".Length;
        var end = inventory.IndexOf('\n', argsAt);
        var args = JsonSerializer.Deserialize<string[]>(inventory[argsAt..end])!;
        return inventory[..argsAt] + JsonSerializer.Serialize(args.Concat(extra)) + inventory[end..];
    }

    /// <summary>The VM's run state ("running", "paused"...) asked over its QMP socket.</summary>
    public static async Task<string> RunStateAsync(string qmpPath)
    {
        await using var qmp = await QmpClient.ConnectAsync(qmpPath, TimeSpan.FromSeconds(10), CancellationToken.None);
        return (await qmp.ExecuteAsync("query-status")).GetProperty("status").GetString()!;
    }

    public async Task DisposeAsync()
    {
        if (Root is null) return;
        if (Agent is not null) await Agent.DisposeAsync();
        var leaked = await QemuProcesses.KillAllAsync(Root);
        LeftCredentials?.Dispose();
        RightCredentials?.Dispose();
        OtherCredentials?.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // the temp folder is cleaned by the OS
        }
        if (leaked.Count > 0)
            throw new InvalidOperationException($"QEMU processes started by the tests were still running at the end: pids {string.Join(", ", leaked)} (killed now)");
    }
}
