using System.Globalization;
using PSMigration.Core.Inventory;

namespace PSMigration.Core.Planning;

/// <summary>How fast an interface is for migration traffic: an 802.3ad or balance-* bond counts all
/// its members, an active-backup (or broadcast) bond one, a plain NIC its speed.</summary>
public static class InterfaceBandwidth
{
    public static double Of(HostInterface nic) => nic.SpeedGbps * Members(nic);

    /// <summary>"bond0 (802.3ad bond, 2 × 1 Gbps)" or "ens3f0 (10 Gbps)".</summary>
    public static string Describe(HostInterface nic) => $"{nic.Name} ({Speed(nic)})";

    /// <summary>"802.3ad bond, 2 × 1 Gbps" or "10 Gbps".</summary>
    public static string Speed(HostInterface nic) => nic.Bond is { } bond
        ? $"{bond.ModeName} bond, {bond.Members.Count} × {Gbps(nic.SpeedGbps)}{(Members(nic) == 1 ? ", one active" : "")}"
        : Gbps(nic.SpeedGbps);

    /// <summary>Whether the bond spreads connections over its members, so one connection gets one member only.</summary>
    public static bool Aggregates(HostInterface nic) => Members(nic) > 1;

    public static string Gbps(double value) =>
        // Whole numbers are the common case, and much cheaper to print than a custom format.
        (value == Math.Floor(value) && value < 1e9 ? ((long)value).ToString(CultureInfo.InvariantCulture) : value.ToString("0.###", CultureInfo.InvariantCulture)) + " Gbps";

    private static int Members(HostInterface nic) => nic.Bond switch
    {
        null => 1,
        { Mode: BondMode.ActiveBackup or BondMode.Broadcast } => 1,
        { Members.Count: var count } => count,
    };
}
