using System.Diagnostics;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Cli.Demo;

/// <summary>The multiboot test guest (tests/guest): built from its embedded sources with the machine's
/// gcc and ld, run with its serial port in a file, and read back to see it alive and its memory intact.</summary>
public static class TestGuest
{
    private static readonly string[] Sources = ["boot.S", "guest.c", "link.ld", "build.sh"];

    /// <summary>Builds guest.elf into <paramref name="directory"/> and returns its path.</summary>
    public static string Build(string directory)
    {
        var sources = Path.Combine(directory, "guest-src");
        Directory.CreateDirectory(sources);
        foreach (var name in Sources)
        {
            using var resource = typeof(TestGuest).Assembly.GetManifestResourceStream("guest/" + name)!;
            using var file = File.Create(Path.Combine(sources, name));
            resource.CopyTo(file);
        }
        var start = new ProcessStartInfo("sh") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(sources, "build.sh"));
        start.ArgumentList.Add(directory);
        using var build = Process.Start(start)!;
        var errors = build.StandardError.ReadToEnd() + build.StandardOutput.ReadToEnd();
        build.WaitForExit();
        if (build.ExitCode != 0)
            throw new MigrationException("GuestBuildFailed", FailureKind.OperationFailed,
                $"Cannot build the test guest: {errors.Trim()}{Environment.NewLine}Install the compiler with: apt-get install gcc binutils", "tests/guest");
        return Path.Combine(directory, "guest.elf");
    }

    /// <summary>A minimal firmware that boots a -kernel in a fraction of SeaBIOS's time (Debian's qemu-system-data has it).</summary>
    private const string QuickFirmware = "/usr/share/qemu/qboot.rom";

    /// <summary>QEMU arguments for the guest: KVM when it can, TCG otherwise; serial to <paramref name="serialFile"/>.</summary>
    public static IReadOnlyList<string> Args(string kernel, int memoryMiB, int dirtyMiBps, string serialFile) =>
    [
        "-machine", "pc", "-accel", "kvm", "-accel", "tcg", "-m", memoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-nodefaults", "-display", "none", "-no-reboot",
        .. File.Exists(QuickFirmware) ? new[] { "-bios", QuickFirmware } : [],
        "-kernel", kernel, "-append", $"dirty={dirtyMiBps}",
        "-serial", "file:" + serialFile,
    ];
}

/// <summary>A guest's serial log, read as it grows.</summary>
public sealed class SerialLog(string path)
{
    public string Path { get; } = path;

    public IReadOnlyList<string> Lines() =>
        File.Exists(Path) ? File.ReadAllLines(Path).Select(l => l.TrimEnd('\r')).ToList() : [];

    /// <summary>Waits until <paramref name="count"/> lines after the first <paramref name="skip"/> match; fails on a
    /// <c>MEMCHECK FAIL</c> line (the guest found its memory changed) or after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<string>> WaitForAsync(Func<string, bool> match, int count, int skip, TimeSpan timeout, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var lines = Lines().Skip(skip).ToList();
            if (lines.FirstOrDefault(l => l.StartsWith("MEMCHECK FAIL", StringComparison.Ordinal)) is { } failed)
                throw new MigrationException("GuestMemoryCorrupt", FailureKind.OperationFailed, $"The guest reports: {failed} ({Path})", Path);
            var found = lines.Where(match).ToList();
            if (found.Count >= count) return found;
            if (clock.Elapsed > timeout)
                throw new MigrationException("GuestSilent", FailureKind.OperationFailed,
                    $"The guest did not print what was expected within {timeout.TotalSeconds:0} s ({Path}; last line: {lines.LastOrDefault() ?? "none"})", Path);
            await Task.Delay(100, cancel);
        }
    }

    public static bool IsMemcheckOk(string line) => line.StartsWith("MEMCHECK OK", StringComparison.Ordinal);
    public static bool IsHeartbeat(string line) => line.StartsWith("HEARTBEAT", StringComparison.Ordinal);
}
