namespace PSMigration.Lab.Tests;

/// <summary>
/// A test that needs the network-namespace lab (and optionally some commands, e.g.
/// <c>[LabFact("iperf3")]</c>). Where no lab can be built it is skipped with the reason
/// <c>lab.sh check</c> printed; with <c>CI=true</c> it is never skipped, so it fails instead
/// (<see cref="LabFixture"/> throws the reason). xunit 2 has no dynamic skip: the reason is
/// computed when the attribute is created, during discovery.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LabFactAttribute : FactAttribute
{
    public LabFactAttribute(params string[] tools)
    {
        Tools = tools;
        if (LabEnvironment.SkipReason(tools) is { } reason) Skip = reason;
    }

    /// <summary>Commands the test runs inside the lab besides ip and tc.</summary>
    public string[] Tools { get; }
}

/// <summary>A lab test with real libvirt daemons: needs <see cref="LabLibvirt.Tools"/> as well (skipped, or failed under CI, likewise).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LibvirtFactAttribute : FactAttribute
{
    public LibvirtFactAttribute()
    {
        if (LabEnvironment.SkipReason(LabLibvirt.Tools) is { } reason) Skip = reason;
    }
}
