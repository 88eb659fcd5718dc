namespace PSMigration.Qemu.Tests;

/// <summary>
/// Whether this machine can run the QEMU tests: /usr/bin/qemu-system-x86_64, and gcc with binutils
/// to build the test guest. Without them the tests skip with the reason, except when CI=true,
/// where they run and fail (CI must really run them).
/// </summary>
public static class QemuEnvironment
{
    public const string QemuBinary = "/usr/bin/qemu-system-x86_64";

    private static readonly Lazy<string?> Missing = new(FindMissing);

    /// <summary>Null when everything is there, else what is missing and how to install it.</summary>
    public static string? MissingReason => Missing.Value;

    /// <summary>True when the environment variable CI is "true": never skip.</summary>
    public static bool Required => string.Equals(Environment.GetEnvironmentVariable("CI")?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    public static string? SkipReason => MissingReason is null || Required ? null : "QEMU tests skipped: " + MissingReason;

    /// <summary>The fail half of the policy: throws with the reason when the tests cannot run.</summary>
    public static void EnsureAvailable()
    {
        if (MissingReason is { } why)
            throw new InvalidOperationException((Required ? "CI=true, so the QEMU tests must run, but " : "the QEMU tests cannot run: ") + why);
    }

    private static string? FindMissing()
    {
        var missing = new List<string>();
        if (!File.Exists(QemuBinary)) missing.Add($"{QemuBinary} is missing (apt-get install qemu-system-x86)");
        var tools = new[] { "gcc", "ld", "objcopy" }.Where(t => !OnPath(t)).ToList();
        if (tools.Count > 0) missing.Add($"{string.Join(", ", tools)} not installed (apt-get install gcc binutils)");
        return missing.Count == 0 ? null : string.Join("; ", missing);
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
}

/// <summary>A test that runs real QEMU (and maybe the test guest): skipped with the reason where
/// QEMU or gcc is missing, never skipped with CI=true. xunit 2 has no dynamic skip, so the reason
/// is computed when the attribute is created, during discovery.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class QemuFactAttribute : FactAttribute
{
    public QemuFactAttribute()
    {
        if (QemuEnvironment.SkipReason is { } reason) Skip = reason;
    }
}
