using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace PSMigration.Qemu.Readiness;

/// <summary>Whether a packet of a given size crosses from one address to another without fragmenting:
/// one ping with "don't fragment" (<c>ping -M do -s SIZE -I SOURCE</c>, iputils), as network admins check it.</summary>
internal static class PathMtu
{
    /// <summary>How <see cref="Probe.Why"/> starts when the path could not be probed at all (no ping here).</summary>
    public const string NotProbed = "not probed";

    internal sealed record Probe(bool Crossed, string Why);

    public static async Task<Probe> ProbeAsync(IPAddress source, IPAddress destination, int mtu, CancellationToken cancel)
    {
        var v6 = destination.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        // The ICMP payload: the packet less its IP and ICMP headers; an IP packet is at most 65535 bytes.
        var payload = Math.Min(mtu, 65535) - (v6 ? 48 : 28);
        var start = new ProcessStartInfo("ping", [v6 ? "-6" : "-4", "-M", "do", "-s", payload.ToString(CultureInfo.InvariantCulture), "-c", "1", "-W", "2", "-I", source.ToString(), destination.ToString()])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return new Probe(false, $"{NotProbed}: there is no ping command here (apt-get install iputils-ping)");
        }
        if (process is null) return new Probe(false, $"{NotProbed}: ping did not start");
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync(cancel);
            var errors = process.StandardError.ReadToEndAsync(cancel);
            await process.WaitForExitAsync(cancel);
            if (process.ExitCode == 0) return new Probe(true, "");
            // "ping: local error: message too long, mtu=1500", "From ... Frag needed and DF set (mtu = 1500)", or nothing: no reply.
            var said = $"{await errors}\n{await output}".Split('\n').Select(l => l.Trim())
                .FirstOrDefault(l => l.Contains("mtu", StringComparison.OrdinalIgnoreCase) || l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.StartsWith("ping:", StringComparison.Ordinal));
            return new Probe(false, said ?? "no reply within 2 s");
        }
    }
}
