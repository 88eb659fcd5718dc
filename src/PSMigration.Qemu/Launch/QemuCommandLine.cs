namespace PSMigration.Qemu.Launch;

/// <summary>A VM's QEMU command line: the inventory's arguments plus what this module owns (the QMP socket, the pid
/// file, the confinement, and for a twin <c>-incoming defer</c> and <c>-S</c>). What the arguments may be is
/// <see cref="QemuArgumentPolicy"/>'s to decide.</summary>
public sealed record QemuCommandLine(string Binary, IReadOnlyList<string> Args, string QmpPath, string PidFile)
{
    /// <summary>Started paused and waiting for a migration stream (a twin).</summary>
    public bool Incoming { get; init; }

    /// <summary>The unprivileged user QEMU switches to once it is set up (<c>-runas</c>); null: it keeps the starter's.</summary>
    public string? RunAs { get; init; }

    /// <summary>Where QEMU's own messages go (its stdout and stderr): beside the pid file, <c>{vm}.log</c>.</summary>
    public string LogFile => Path.ChangeExtension(PidFile, ".log");

    /// <summary>QEMU's seccomp filter: no obsolete system calls, no fork or exec, no scheduler or resource changes, and
    /// no set*uid. With <c>-runas</c> QEMU itself drops to the user after the filter is on, so set*uid must stay allowed;
    /// once switched it holds no capabilities and cannot raise them again.</summary>
    public string Sandbox => RunAs is null
        ? "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
        : "on,obsolete=deny,spawn=deny,resourcecontrol=deny";

    public IReadOnlyList<string> Arguments =>
    [
        .. Args,
        "-qmp", $"unix:{QmpPath},server=on,wait=off",
        "-pidfile", PidFile,
        "-sandbox", Sandbox,
        .. RunAs is null ? [] : new[] { "-runas", RunAs },
        .. Incoming ? new[] { "-S", "-incoming", "defer" } : [],
    ];

    public override string ToString() => string.Join(' ', new[] { Binary }.Concat(Arguments).Select(Quote));

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:=,+@{}".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";
}
