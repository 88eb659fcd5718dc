using PSMigration.Core.Diagnostics;

namespace PSMigration.Qemu.Launch;

/// <summary>A VM's QEMU command line: the inventory's arguments plus what this module owns (the QMP
/// socket, daemonizing with a pid file, and for a twin <c>-incoming defer</c> and <c>-S</c>).</summary>
public sealed record QemuCommandLine(string Binary, IReadOnlyList<string> Args, string QmpPath, string PidFile)
{
    /// <summary>Options the module sets itself; in a VM's arguments they would clash or hijack the twin.</summary>
    private static readonly string[] Reserved = ["-incoming", "-qmp", "-qmp-pretty", "-daemonize", "-pidfile", "-monitor", "-nographic"];

    /// <summary>Started paused and waiting for a migration stream (a twin).</summary>
    public bool Incoming { get; init; }

    public IReadOnlyList<string> Arguments =>
    [
        .. Args,
        "-qmp", $"unix:{QmpPath},server=on,wait=off",
        "-daemonize", "-pidfile", PidFile,
        .. Incoming ? new[] { "-S", "-incoming", "defer" } : [],
    ];

    /// <summary>Refuses arguments that name an option the module owns, saying which.</summary>
    public static void CheckArgs(string vm, IReadOnlyList<string> args)
    {
        foreach (var arg in args)
        {
            var option = arg.StartsWith("--", StringComparison.Ordinal) ? arg[1..] : arg;
            if (Reserved.Contains(option, StringComparer.Ordinal))
                throw new MigrationException("QemuArgsReserved", FailureKind.InvalidInput,
                    $"The qemu args of {vm} contain '{arg}', which the module sets itself ({string.Join(", ", Reserved)}); remove it from the inventory", vm);
        }
    }

    public override string ToString() => string.Join(' ', new[] { Binary }.Concat(Arguments).Select(Quote));

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:=,+@{}".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";
}
