using System.Collections.Concurrent;
using System.Diagnostics;

namespace PSMigration.Qemu.Launch;

/// <summary>The machine types a QEMU binary supports (<c>-machine help</c>, asked once per binary), and the
/// one a VM's arguments ask for (<c>-machine TYPE,...</c>, <c>-machine type=TYPE,...</c> or <c>-M TYPE</c>).</summary>
internal static class QemuMachines
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlySet<string>>>> known = new(StringComparer.Ordinal);

    /// <summary>The machine type named in <paramref name="args"/>, or null for QEMU's default.</summary>
    public static string? Requested(IReadOnlyList<string> args)
    {
        string? type = null;
        for (var i = 0; i + 1 < args.Count; i++)
        {
            if (args[i] is not ("-machine" or "--machine" or "-M")) continue;
            var parts = args[i + 1].Split(',');
            if (parts[0].Length > 0 && !parts[0].Contains('=')) type = parts[0];
            if (parts.FirstOrDefault(p => p.StartsWith("type=", StringComparison.Ordinal)) is { } named) type = named["type=".Length..];
        }
        return type;
    }

    /// <summary>Null when <paramref name="binary"/> supports the machine <paramref name="args"/> ask for, else why not.</summary>
    public static async Task<string?> ProblemAsync(string binary, IReadOnlyList<string> args, CancellationToken cancel)
    {
        if (Requested(args) is not { } type) return null;
        var supported = await known.GetOrAdd(binary, b => new Lazy<Task<IReadOnlySet<string>>>(() => ListAsync(b))).Value.WaitAsync(cancel);
        return supported.Contains(type) ? null
            : $"{Path.GetFileName(binary)} here has no machine type '{type}' ({supported.Count} known, e.g. {string.Join(", ", supported.Order().Take(4))}): " +
              "install the QEMU version the source runs, or start the VM with a machine type both hosts have";
    }

    private static async Task<IReadOnlySet<string>> ListAsync(string binary)
    {
        var start = new ProcessStartInfo(binary, ["-machine", "help"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot run {binary}");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        // "Supported machines are:" then "NAME   description" per line.
        return output.Split('\n').Skip(1).Select(l => l.Split(' ', 2)[0].Trim()).Where(n => n.Length > 0).ToHashSet(StringComparer.Ordinal);
    }
}
