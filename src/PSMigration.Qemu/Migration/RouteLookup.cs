using System.Diagnostics;
using System.Text.Json;

namespace PSMigration.Qemu.Migration;

/// <summary>Which interface the kernel uses to reach an address (<c>ip -j route get</c>):
/// QEMU's direct transport binds nothing, so the route decides the NIC.</summary>
internal static class RouteLookup
{
    /// <summary>The interface the kernel sends to <paramref name="destination"/> by; null when it cannot tell.</summary>
    public static async Task<string?> InterfaceAsync(string destination, CancellationToken cancel)
    {
        try
        {
            var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { "-j", "route", "get", destination }) start.ArgumentList.Add(arg);
            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync(cancel);
            await process.WaitForExitAsync(cancel);
            if (process.ExitCode != 0) return null;
            var route = JsonDocument.Parse(output).RootElement.EnumerateArray().FirstOrDefault();
            return route.ValueKind == JsonValueKind.Object && route.TryGetProperty("dev", out var dev) ? dev.GetString() : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or JsonException)
        {
            return null; // no iproute2: the result says the interface is unknown
        }
    }
}
