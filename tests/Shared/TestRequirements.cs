namespace PSMigration.Testing;

/// <summary>
/// The one skip-or-fail policy of the tests that need parts of the machine (QEMU, gcc, the lab's
/// namespaces, libvirt): where something is missing they skip with the reason and how to install it,
/// except when the environment variable CI is "true", where they run and fail (CI must really run them).
/// Compiled into each test project that needs it (tests/Shared).
/// </summary>
public static class TestRequirements
{
    /// <summary>True when CI is "true": such tests never skip.</summary>
    public static bool Required => IsCi(Environment.GetEnvironmentVariable("CI"));

    public static bool IsCi(string? ci) => string.Equals(ci?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The skip reason (<paramref name="area"/> and what is missing), or null to run.</summary>
    public static string? SkipReason(string area, string? missing, string? ci) =>
        missing is null || IsCi(ci) ? null : $"{area}: {missing}";

    public static string? SkipReason(string area, string? missing) => SkipReason(area, missing, Environment.GetEnvironmentVariable("CI"));

    /// <summary>The fail half of the policy: throws with the reason when the tests cannot run.</summary>
    public static void EnsureAvailable(string tests, string? missing)
    {
        if (missing is not null)
            throw new InvalidOperationException((Required ? $"CI=true, so the {tests} must run, but " : $"the {tests} cannot run: ") + missing);
    }

    /// <summary>Null when every command is on PATH (or in /usr/sbin, /sbin), else which are not and the packages to install.</summary>
    public static string? MissingCommands(params string[] commands)
    {
        var missing = commands.Where(c => !OnPath(c)).ToArray();
        return missing.Length == 0
            ? null
            : $"{string.Join(", ", missing)} not installed (apt-get install {string.Join(" ", missing.Select(Package).Distinct())}; tests/run.sh does it as root)";
    }

    public const string QemuBinary = "/usr/bin/qemu-system-x86_64";

    /// <summary>What real QEMU and the test guest (built with gcc and binutils) need, or null.</summary>
    public static string? MissingQemuAndGuestTools() =>
        File.Exists(QemuBinary) ? MissingCommands("qemu-img", "gcc", "ld", "objcopy") : $"{QemuBinary} is missing (apt-get install qemu-system-x86)";

    /// <summary>The Debian package of a command the tests use.</summary>
    private static string Package(string command) => command switch
    {
        "ip" or "tc" or "ss" => "iproute2",
        "ping" => "iputils-ping",
        "qemu-system-x86_64" => "qemu-system-x86",
        "qemu-img" => "qemu-utils",
        "systemd-analyze" => "systemd",
        "ld" or "objcopy" => "binutils",
        "libvirtd" => "libvirt-daemon-system",
        "virsh" => "libvirt-clients",
        "nsenter" => "util-linux",
        _ => command,
    };

    private static bool OnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin"])
            .Any(dir => File.Exists(Path.Combine(dir, command)));
}
