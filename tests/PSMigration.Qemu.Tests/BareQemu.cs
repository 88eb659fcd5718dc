using System.Net.Sockets;
using PSMigration.Qemu.Launch;

namespace PSMigration.Qemu.Tests;

/// <summary>A QEMU with no machine (<c>-machine none</c>): starts in a blink, answers QMP, runs no guest.
/// Started through <see cref="QemuInstance.StartAsync"/>, whose QMP connection is let go, so a test
/// connects its own. Disposing kills it.</summary>
public sealed class BareQemu : IAsyncDisposable
{
    public static readonly string[] Args = ["-machine", "none", "-nodefaults", "-display", "none"];

    private readonly bool ownsDirectory;
    private bool crashed;

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
        var qemu = await QemuInstance.StartAsync(name, commandLine, QemuEnvironment.Policy(directory), "test", CancellationToken.None);
        await qemu.DisposeAsync(); // free the socket: QMP serves one client
        return new BareQemu(directory, ownsDirectory, qemu.Pid, commandLine.QmpPath);
    }

    /// <summary>Kills QEMU the hard way (SIGKILL): its QMP socket file stays behind, stale, as after a crash.</summary>
    public async Task<string> CrashAsync()
    {
        using (var kill = System.Diagnostics.Process.Start("kill", ["-KILL", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        await QemuProcesses.WaitGoneAsync(Pid);
        crashed = true;
        Assert.True(File.Exists(QmpPath), "test setup: a killed QEMU should leave its socket file");
        // The main thread turns zombie before the last thread closes the files: wait until nothing listens.
        await Eventually.TrueAsync(() => Refused(QmpPath), $"the socket of killed pid {Pid} refuses connections");
        return QmpPath;
    }

    private static bool Refused(string path)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!crashed) // its pid may belong to another process by now
        {
            QemuInstance.Kill(Pid);
            await QemuInstance.WaitGoneAsync(Pid, TimeSpan.FromSeconds(10));
        }
        if (ownsDirectory) System.IO.Directory.Delete(Directory, recursive: true);
    }
}
