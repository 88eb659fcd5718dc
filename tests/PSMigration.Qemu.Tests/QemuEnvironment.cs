using PSMigration.Testing;

namespace PSMigration.Qemu.Tests;

/// <summary>
/// Whether this machine can run the QEMU tests: /usr/bin/qemu-system-x86_64, and gcc with binutils
/// to build the test guest. Without them the tests skip with the reason, except when CI=true,
/// where they run and fail (CI must really run them).
/// </summary>
public static class QemuEnvironment
{
    public const string QemuBinary = TestRequirements.QemuBinary;

    private static readonly Lazy<string?> Missing = new(TestRequirements.MissingQemuAndGuestTools);

    /// <summary>Null when everything is there, else what is missing and how to install it.</summary>
    public static string? MissingReason => Missing.Value;

    public static string? SkipReason => TestRequirements.SkipReason("QEMU tests skipped", MissingReason);

    /// <summary>The fail half of the policy: throws with the reason when the tests cannot run.</summary>
    public static void EnsureAvailable() => TestRequirements.EnsureAvailable("QEMU tests", MissingReason);

    /// <summary>Why the tests of QEMUs that drop root cannot run here, or null.</summary>
    public static string? AsRootSkipReason => TestRequirements.SkipReason("QEMU tests as root skipped",
        MissingReason ?? (Environment.UserName == "root" ? null : "not root (QEMU switches to another user only when started by root)"));

    /// <summary>The argument policy of a host whose run directory is <paramref name="runDirectory"/>, with these storage roots.</summary>
    public static Launch.QemuArgumentPolicy Policy(string runDirectory, params string[] storageRoots) =>
        new(Launch.HostPathRoots.For(runDirectory, storageRoots));
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

/// <summary>A QEMU test that needs root (a QEMU switching to another user): skipped with the reason elsewhere, never
/// with CI=true (CI runs as root).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class QemuAsRootFactAttribute : FactAttribute
{
    public QemuAsRootFactAttribute()
    {
        if (QemuEnvironment.AsRootSkipReason is { } reason) Skip = reason;
    }
}

/// <summary>The theory form of <see cref="QemuAsRootFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class QemuAsRootTheoryAttribute : TheoryAttribute
{
    public QemuAsRootTheoryAttribute()
    {
        if (QemuEnvironment.AsRootSkipReason is { } reason) Skip = reason;
    }
}
