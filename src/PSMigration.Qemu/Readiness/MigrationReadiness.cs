using PSMigration.Core;

namespace PSMigration.Qemu.Readiness;

/// <summary>One readiness check: its name (plan, agent, qemu or libvirt, memory, source, mtu), whether it
/// passed, and a sentence: what was found, and when it failed, what to do.</summary>
public sealed record ReadinessCheck(string Name, bool Passed, string Detail)
{
    public override string ToString() => $"{Name}: {(Passed ? "ok" : "FAILED")}: {Detail}";
}

/// <summary>Whether a VM can move to a host now (<c>Test-VMMigration</c>, <c>psmig check</c>), without
/// moving anything. Property names are the JSON contract (camelCased).</summary>
public sealed record MigrationReadiness
{
    public required string Vm { get; init; }
    public required string SourceHost { get; init; }
    public required string DestinationHost { get; init; }
    /// <summary>Every check passed.</summary>
    public bool Ready => Checks.All(c => c.Passed);
    /// <summary>The planned network, when the plan resolved.</summary>
    public string? Network { get; init; }
    public required TextList<ReadinessCheck> Checks { get; init; }
    /// <summary>The names of the checks that failed, for a table.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TextList<string> Failed => Checks.Where(c => !c.Passed).Select(c => c.Name).ToTextList();
}

/// <summary>The check names, fixed for scripts and Pester suites.</summary>
internal static class ReadinessCheckNames
{
    public const string Plan = "plan";
    public const string Agent = "agent";
    public const string Qemu = "qemu";
    public const string Libvirt = "libvirt";
    public const string Memory = "memory";
    public const string Source = "source";
    public const string Mtu = "mtu";
    /// <summary>Only with storage: copy: the disks to copy, and room for them on the destination.</summary>
    public const string Storage = "storage";
    /// <summary>Only for a running QEMU VM: whether its migration converges, predicted from its sampled dirty rate.</summary>
    public const string Convergence = "convergence";
}
