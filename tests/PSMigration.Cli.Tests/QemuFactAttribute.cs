namespace PSMigration.Cli.Tests;

/// <summary>A test that runs real QEMU and builds the test guest (psmig demo). Skipped with the reason
/// where /usr/bin/qemu-system-x86_64 or gcc is missing, but never with CI=true: there it runs and fails.
/// (The same policy as PSMigration.Qemu.Tests' QemuFact.)</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class QemuFactAttribute : FactAttribute
{
    public const string QemuBinary = "/usr/bin/qemu-system-x86_64";

    public QemuFactAttribute()
    {
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI")?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
        if (!ci && Missing() is { } reason) Skip = "QEMU tests skipped: " + reason;
    }

    private static string? Missing()
    {
        if (!File.Exists(QemuBinary)) return $"{QemuBinary} is missing (apt-get install qemu-system-x86)";
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        return path.Any(dir => File.Exists(Path.Combine(dir, "gcc"))) ? null : "gcc is not installed (apt-get install gcc binutils)";
    }
}
