using System.Net;
using System.Net.Sockets;

namespace PSMigration.Core.Inventory;

/// <summary>Parses CIDRs and interface addresses, with messages that say how to fix them.</summary>
public static class AddressParser
{
    /// <summary>The address as the host part of a URI: IPv6 in brackets (<c>tcp:[2001:db8::1]:4444</c>).</summary>
    public static string UriHost(IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    public static bool TryParseNetwork(string text, out IPNetwork network, out string error)
    {
        network = default;
        if (!TryParseAddress(text, out var address, out var prefix, out error)) return false;
        var canonical = new IPNetwork(Mask(address, prefix), prefix);
        if (!canonical.BaseAddress.Equals(address))
        {
            error = $"'{text}' has host bits set; did you mean '{canonical}'?";
            return false;
        }
        network = canonical;
        return true;
    }

    public static bool TryParseInterfaceAddress(string text, out InterfaceAddress result, out string error)
    {
        result = null!;
        if (!TryParseAddress(text, out var address, out var prefix, out error)) return false;
        var subnet = new IPNetwork(Mask(address, prefix), prefix);
        var hostBits = Bits(address) - prefix;
        if (address.AddressFamily == AddressFamily.InterNetwork && hostBits >= 2)
        {
            if (address.Equals(subnet.BaseAddress))
            {
                error = $"'{text}' is the network address of {subnet}, not a host address";
                return false;
            }
            if (address.Equals(Broadcast(subnet)))
            {
                error = $"'{text}' is the broadcast address of {subnet}, not a host address";
                return false;
            }
        }
        result = new InterfaceAddress(address, prefix);
        return true;
    }

    /// <summary>The subnet an interface address belongs to by its own prefix.</summary>
    public static IPNetwork SubnetOf(InterfaceAddress address) =>
        new(Mask(address.Address, address.PrefixLength), address.PrefixLength);

    private static bool TryParseAddress(string text, out IPAddress address, out int prefix, out string error)
    {
        address = IPAddress.None;
        prefix = 0;
        var slash = text.IndexOf('/');
        if (slash < 0)
        {
            error = $"'{text}' needs a prefix length, like 198.51.100.11/24";
            return false;
        }
        if (!IPAddress.TryParse(text[..slash], out var parsed) || text[..slash].Count(c => c == '.') is not (0 or 3))
        {
            error = $"'{text[..slash]}' is not an IPv4 or IPv6 address";
            return false;
        }
        address = parsed;
        if (!int.TryParse(text[(slash + 1)..], out prefix) || prefix < 0 || prefix > Bits(parsed))
        {
            error = $"'{text[(slash + 1)..]}' is not a prefix length for {parsed} (0 to {Bits(parsed)})";
            return false;
        }
        error = "";
        return true;
    }

    private static int Bits(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }

    private static IPAddress Broadcast(IPNetwork network)
    {
        var bytes = network.BaseAddress.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(network.PrefixLength - i * 8, 0, 8);
            bytes[i] |= (byte)~(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }
}
