using PSMigration.Cli.Demo;

namespace PSMigration.Lab.Tests;

/// <summary>The test guest started on a lab host as its owner would start it: daemonized QEMU with a QMP socket
/// (<c>NAME.qmp</c>), a pid file and a serial log in <paramref name="runDirectory"/>, ready once it has filled
/// and checked its memory.</summary>
public static class LabGuest
{
    private static readonly TimeSpan GuestTimeout = TimeSpan.FromSeconds(60);

    /// <returns>QEMU's pid (QEMU removes its pid file when it quits) and the guest's serial log.</returns>
    /// <param name="extraArgs">More QEMU arguments (a disk).</param>
    public static (int Pid, SerialLog Serial) Start(LabFixture lab, LabHost host, string kernel, string runDirectory, string name, int memoryMiB, int dirtyMiBps,
        params string[] extraArgs)
    {
        var args = TestGuest.Args(kernel, memoryMiB, dirtyMiBps, Path.Combine(runDirectory, name + ".serial")).Concat(extraArgs);
        var start = lab.Exec(host, ["qemu-system-x86_64", .. args, "-qmp", $"unix:{Path.Combine(runDirectory, name)}.qmp,server=on,wait=off",
            "-daemonize", "-pidfile", Path.Combine(runDirectory, name + ".pid")]);
        Assert.True(start.ExitCode == 0, $"QEMU did not start {name}: {start}");
        var pid = int.Parse(File.ReadAllText(Path.Combine(runDirectory, name + ".pid")).Trim());
        var serial = new SerialLog(Path.Combine(runDirectory, name + ".serial"));
        serial.WaitForAsync(SerialLog.IsMemcheckOk, 1, 0, GuestTimeout, CancellationToken.None).GetAwaiter().GetResult();
        return (pid, serial);
    }
}
