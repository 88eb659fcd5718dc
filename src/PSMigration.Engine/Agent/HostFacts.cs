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

    /// <summary>The interface that has <paramref name="address"/>, and its MTU.</summary>
    public static (string Name, int Mtu)? InterfaceOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            var properties = nic.GetIPProperties();
            if (!properties.UnicastAddresses.Any(a => a.Address.Equals(address))) continue;
            var mtu = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                ? properties.GetIPv6Properties().Mtu
                : properties.GetIPv4Properties().Mtu;
            return (nic.Name, mtu);
        }
        return null;
    }
}
