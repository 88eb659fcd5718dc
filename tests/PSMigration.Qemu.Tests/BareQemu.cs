using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Tests;

/// <summary>A QEMU with no machine (<c>-machine none</c>): starts in a blink, answers QMP, runs no guest.
/// Started through <see cref="QemuInstance.StartAsync"/>, whose QMP connection is let go, so a test
/// connects its own. Disposing kills it.</summary>
public sealed class BareQemu : IAsyncDisposable
{
    public static readonly string[] Args = ["-machine", "none", "-nodefaults", "-display", "none"];

    private readonly bool ownsDirectory;

    private BareQemu(string directory, bool ownsDirectory, int pid, string qmpPath)
    {
        Directory = directory;
        this.ownsDirectory = ownsDirectory;
        Pid = pid;
        QmpPath = qmpPath;
    }

    public string Directory { get; }
    public int Pid { get; }
    public string QmpPath { get; }

    /// <summary>Starts one in <paramref name="directory"/> (a new temp folder when null), with its
    /// socket at <c>NAME.qmp</c> and its pid file at <paramref name="pidFileName"/> (default <c>NAME.pid</c>).</summary>
    public static async Task<BareQemu> StartAsync(string? directory = null, string name = "bare", string? pidFileName = null)
    {
        QemuEnvironment.EnsureAvailable();
        var ownsDirectory = directory is null;
        directory ??= System.IO.Directory.CreateTempSubdirectory("psmig-qmp-").FullName;
        var commandLine = new QemuCommandLine(QemuEnvironment.QemuBinary, Args, Path.Combine(directory, name + ".qmp"),
            Path.Combine(directory, pidFileName ?? name + ".pid"));
        var qemu = await QemuInstance.StartAsync(name, commandLine, CancellationToken.None);
        await qemu.DisposeAsync(); // free the socket: QMP serves one client
        return new BareQemu(directory, ownsDirectory, qemu.Pid, commandLine.QmpPath);
    }

    public async ValueTask DisposeAsync()
    {
        QemuInstance.Kill(Pid);
        await QemuInstance.WaitGoneAsync(Pid, TimeSpan.FromSeconds(10));
        if (ownsDirectory) System.IO.Directory.Delete(Directory, recursive: true);
    }
}
