using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;

namespace PSMigration.Engine.Agent;

/// <summary>What this machine says about itself, for readiness checks: its available memory and the
/// interface (and MTU) that holds an address. Null where the machine does not tell.</summary>
public static class HostFacts
{
    /// <summary>MemAvailable of /proc/meminfo: what can be had without swapping.</summary>
    public static long? MemoryAvailableMiB()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
            var kib = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return kib is null ? null : long.Parse(kib, CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The interface that has <paramref name="address"/> (or, failing that, whose subnet holds it: 127.0.0.2
    /// is lo's, by its 127.0.0.1/8), and its MTU.</summary>
    public static (string Name, int Mtu)? InterfaceOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var nics = NetworkInterface.GetAllNetworkInterfaces().Select(n => (Nic: n, Properties: n.GetIPProperties())).ToList();
        var owner = nics.FirstOrDefault(n => n.Properties.UnicastAddresses.Any(a => a.Address.Equals(address)));
        if (owner.Nic is null)
            owner = nics.FirstOrDefault(n => n.Properties.UnicastAddresses.Any(a =>
                a.Address.AddressFamily == address.AddressFamily && new IPNetwork(Network(a.Address, a.PrefixLength), a.PrefixLength).Contains(address)));
        if (owner.Nic is null) return null;
        var mtu = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? owner.Properties.GetIPv6Properties().Mtu
            : owner.Properties.GetIPv4Properties().Mtu;
        return (owner.Nic.Name, mtu);
    }

    /// <summary>The network address of <paramref name="address"/>/<paramref name="prefix"/> (host bits cleared).</summary>
    private static IPAddress Network(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - 8 * i, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }
}
