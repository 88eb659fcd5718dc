using System.Net;
using PSMigration.Core.Diagnostics;
using PSMigration.Core.Policies;
using PSMigration.Core.Yaml;

namespace PSMigration.Core.Inventory;

public enum NetworkRole
{
    [Spelling("management")] Management,
    [Spelling("migration")] Migration,
    [Spelling("storage")] Storage,
    [Spelling("cluster")] Cluster,
    [Spelling("vm")] Vm,
}

public enum LinkState
{
    [Spelling("up")] Up,
    [Spelling("down")] Down,
}

public enum BondMode
{
    [Spelling("active-backup")] ActiveBackup,
    [Spelling("802.3ad")] Lacp,
    [Spelling("balance-rr")] BalanceRr,
    [Spelling("balance-xor")] BalanceXor,
    [Spelling("balance-tlb")] BalanceTlb,
    [Spelling("balance-alb")] BalanceAlb,
    [Spelling("broadcast")] Broadcast,
}

public sealed record MigrationNetwork(
    string Name, IPNetwork Cidr, NetworkRole Role, int Priority, bool? AllowMigration, SourceLocation Location)
{
    /// <summary>Whether the selector may pick this network without being asked by name:
    /// storage and cluster networks only when <c>allowMigration: true</c>.</summary>
    public bool MigrationAllowed => AllowMigration ?? Role is NetworkRole.Management or NetworkRole.Migration or NetworkRole.Vm;

    public string RoleName => Spelling<NetworkRole>.Of(Role);
}

/// <summary>An address as configured on an interface: <c>198.51.100.11/24</c>.</summary>
public sealed record InterfaceAddress(IPAddress Address, int PrefixLength)
{
    public override string ToString() => $"{Address}/{PrefixLength}";
}

public sealed record Bond(BondMode Mode, IReadOnlyList<string> Members)
{
    public string ModeName => Spelling<BondMode>.Of(Mode);
}

public sealed record HostInterface(
    string Name, IReadOnlyList<InterfaceAddress> Addresses, double SpeedGbps, int Mtu, LinkState State, Bond? Bond,
    SourceLocation Location)
{
    public bool IsUp => State == LinkState.Up;

    /// <summary>"bond0 192.0.2.11/24 (802.3ad bond, 2 × 1 Gbps), MTU 9000, down".</summary>
    public override string ToString() =>
        string.Join(" ", Addresses.Select(a => a.ToString()).Prepend(Name)) + $" ({Planning.InterfaceBandwidth.Speed(this)})" +
        (Mtu == 1500 ? "" : $", MTU {Mtu}") + (IsUp ? "" : ", down");
}

public sealed record MigrationHost(
    string Name, string? Cluster, int CpuThreads, int AgentPort, TextList<HostInterface> Interfaces,
    SourceLocation Location)
{
    public string? InventoryPath { get; init; }
    /// <summary>The host's <c>libvirt.uri</c>: how other hosts' libvirt daemons reach this one's (the destination of a
    /// peer-to-peer migration). Null for libvirt's recommended remote URI, <see cref="LibvirtUri"/>.</summary>
    public string? LibvirtUriSetting { get; init; }
    public string LibvirtUri => LibvirtUriSetting ?? $"qemu+tls://{Name}/system";
    /// <summary>Where the inventory sets <c>maintenance: true</c>, or null when the host takes VMs (the default).</summary>
    public SourceLocation? MaintenanceAt { get; init; }
    public bool InMaintenance => MaintenanceAt is not null;
    /// <summary>The host's memory (<c>memoryMiB</c>), when the inventory says; placement needs it.</summary>
    public int? MemoryMiB { get; init; }
    /// <summary>Memory kept for the host itself (<c>reservedMemoryMiB</c>, default 0): no VM is placed in it.</summary>
    public int ReservedMemoryMiB { get; init; }

    public override string ToString() => Name;
}

/// <summary>A QEMU-managed VM: its QMP socket, and how a destination agent starts its twin
/// (<see cref="Binary"/> with <see cref="Args"/>; <c>{runDir}</c> in either stands for the host's run directory).</summary>
public sealed partial record QemuSpec(string Qmp, IReadOnlyList<string> Args)
{
    public const string DefaultBinary = "qemu-system-x86_64";
    public string Binary { get; init; } = DefaultBinary;

    public static bool IsBinaryName(string name) => BinaryName().IsMatch(name);

    /// <summary>"qmp /run/psmig/web01.qmp: qemu-system-x86_64 -accel kvm -m 32768".</summary>
    public override string ToString() => $"qmp {Qmp}: {string.Join(" ", Args.Prepend(Binary))}";

    [System.Text.RegularExpressions.GeneratedRegex("^qemu-system-[A-Za-z0-9_]+$")]
    private static partial System.Text.RegularExpressions.Regex BinaryName();
}

/// <summary>A libvirt-managed VM: its domain name, and the local libvirt URI on its host (null: <see cref="DefaultUri"/>).</summary>
public sealed record LibvirtSpec(string Domain, string? Uri)
{
    public const string DefaultUri = "qemu:///system";
    public string LocalUri => Uri ?? DefaultUri;

    public override string ToString() => $"domain {Domain} at {LocalUri}";
}

public sealed record MigrationCluster(string Name, PolicyBlock? Migration, SourceLocation Location);

public sealed record VirtualMachine(
    string Name, string Host, int Vcpus, long MemoryMiB, int? PinnedCpus, PolicyBlock? Migration,
    QemuSpec? Qemu, LibvirtSpec? Libvirt, SourceLocation Location)
{
    public string? InventoryPath { get; init; }
    /// <summary>"qemu", "libvirt" or "none": which backend manages it.</summary>
    public string Backend => Qemu is not null ? "qemu" : Libvirt is not null ? "libvirt" : "none";

    public override string ToString() => Name;
}
