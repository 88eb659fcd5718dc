namespace PSMigration.Qemu.Launch;

/// <summary>Where a host keeps its VMs' runtime files (QMP sockets, pid files, migration sockets).
/// <c>{runDir}</c> in a VM's qmp path or arguments stands for it, so hosts that share a file
/// system (a lab, the demo) keep their VMs apart while production hosts use plain paths.</summary>
public static class RunDirectory
{
    public const string Default = "/run/psmigration";
    public const string Placeholder = "{runDir}";

    public static string Expand(string text, string runDirectory) =>
        text.Replace(Placeholder, runDirectory, StringComparison.Ordinal);
}
