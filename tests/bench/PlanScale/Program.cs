// Benchmark (not a test): load and plan every VM of a large generated inventory.
//   PlanScale generate FILE [HOSTS] [VMS]   writes the inventory
//   PlanScale run FILE                      loads it, plans every VM, prints time and peak memory
// Generation and measurement are separate processes so the peak RSS is the planner's alone.
using System.Diagnostics;
using System.Text;
using PSMigration.Core.Inventory;
using PSMigration.Core.Planning;

return args switch
{
    ["generate", var file, ..] => Generate(file, args.Length > 2 ? int.Parse(args[2]) : 2000, args.Length > 3 ? int.Parse(args[3]) : 20000),
    ["run", var file] => Run(file),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: PlanScale generate FILE [HOSTS] [VMS] | PlanScale run FILE");
    return 2;
}

// 20 clusters; every host on the LAN (bonded 2x10G) and storage; every other host on the 25G migration network,
// so plans exercise both the migration-network rule and the fallback.
static int Generate(string file, int hosts, int vms)
{
    var text = new StringBuilder();
    text.Append("""
        networks:
          - name: lan
            cidr: 198.18.0.0/16
            role: management
          - name: mig
            cidr: 198.19.0.0/16
            role: migration
            priority: 1
          - name: iscsi
            cidr: 100.64.0.0/16
            role: storage
        clusters:

        """);
    for (var c = 0; c < 20; c++)
        text.Append($"  - name: c{c}\n    migration: {{ parallel: {(c % 2 == 0 ? "Auto" : "Parallel")}, maxConnections: 8 }}\n");
    text.Append("hosts:\n");
    for (var h = 0; h < hosts; h++)
    {
        var (hi, lo) = (h / 250, h % 250 + 1);
        text.Append($"""
              - name: h{h}
                cluster: c{h % 20}
                cpuThreads: {(h % 3 == 0 ? 32 : 64)}
                interfaces:
                  - name: bond0
                    addresses: [198.18.{hi}.{lo}/16]
                    speedGbps: 10
                    bond: {"{"} mode: 802.3ad, members: [eno1, eno2] {"}"}
                  - name: ens2
                    addresses: [100.64.{hi}.{lo}/16]
                    speedGbps: 25
                    mtu: 9000

            """);
        if (h % 2 == 0)
            text.Append($"""
                      - name: ens3
                        addresses: [198.19.{hi}.{lo}/16]
                        speedGbps: 25
                        mtu: 9000

                """);
    }
    text.Append("vms:\n");
    for (var v = 0; v < vms; v++)
    {
        text.Append($"  - name: vm{v}\n    host: h{v % hosts}\n    vcpus: {2 << (v % 4)}\n    memoryMiB: {4096 << (v % 3)}\n");
        if (v % 7 == 0) text.Append("    migration: { parallel: Custom, connections: 4 }\n");
        text.Append($"    qemu: {{ qmp: /run/psmig/vm{v}.qmp, args: [\"-m\", \"{4096 << (v % 3)}\"] }}\n");
    }
    File.WriteAllText(file, text.ToString());
    Console.WriteLine($"wrote {file}: {hosts} hosts, {vms} VMs, {new FileInfo(file).Length / 1024 / 1024.0:0.0} MiB");
    return 0;
}

static int Run(string file)
{
    var clock = Stopwatch.StartNew();
    var inventory = InventoryLoader.Load(file);
    var loaded = clock.Elapsed;
    var hosts = inventory.Hosts;
    var byNetwork = new Dictionary<string, int>();
    var connections = 0L;
    foreach (var (vm, i) in inventory.Vms.Select((v, i) => (v, i)))
    {
        // Destination: the host after the VM's own, within the list (crosses clusters now and then).
        var destination = hosts[(int.Parse(vm.Host[1..]) + 1 + i % 3) % hosts.Count].Name;
        var plan = MigrationPlanner.Plan(inventory, vm.Name, destination);
        byNetwork[plan.Network] = byNetwork.GetValueOrDefault(plan.Network) + 1;
        connections += plan.Connections;
    }
    var total = clock.Elapsed;
    Console.WriteLine($"hosts {inventory.Hosts.Count}, VMs {inventory.Vms.Count}, plans by network: " +
                      string.Join(", ", byNetwork.Select(kv => $"{kv.Key} {kv.Value}")) + $", connections {connections}");
    Console.WriteLine($"load {loaded.TotalSeconds:0.000} s, plan {(total - loaded).TotalSeconds:0.000} s, total {total.TotalSeconds:0.000} s (target < 2 s)");
    Console.WriteLine($"peak RSS {PeakRssMiB():0} MiB (target < 500 MB), allocated {GC.GetTotalAllocatedBytes() / 1024 / 1024} MiB");
    return 0;
}

static double PeakRssMiB()
{
    var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:"));
    return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
}

