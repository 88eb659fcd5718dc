using PSMigration.Testing;

namespace PSMigration.Cli.Tests;

/// <summary>A test that runs real QEMU and builds the test guest (psmig demo): skipped with the reason where
/// /usr/bin/qemu-system-x86_64, gcc or binutils is missing, never with CI=true (tests/Shared/TestRequirements).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class QemuFactAttribute : FactAttribute
{
    public QemuFactAttribute()
    {
        if (TestRequirements.SkipReason("QEMU tests skipped", TestRequirements.MissingQemuAndGuestTools()) is { } reason) Skip = reason;
    }
}
