using PSMigration.Qemu.Accounts;

namespace PSMigration.Qemu.Incoming;

/// <summary>A twin's private folder, <c>{runDir}/{vm}.{id}.twin</c>: its incoming and NBD sockets (engine transport), its copy
/// of the TLS credentials (direct transport), and the list of the images made for it. When the twin runs as an unprivileged user the folder is that user's, as
/// QEMU creates the socket and reads the credentials after it dropped root. Removed with the twin.</summary>
internal sealed class TwinFolder : IDisposable
{
    public const string Suffix = ".twin";

    private TwinFolder(string path, UnixAccount? user)
    {
        Path = path;
        User = user;
    }

    public string Path { get; }
    private UnixAccount? User { get; }
    public string IncomingSocket => System.IO.Path.Combine(Path, "incoming");
    public string TlsDirectory => System.IO.Path.Combine(Path, "tls");
    /// <summary>The twin's NBD server for the disks it receives (engine transport).</summary>
    public string NbdSocket => System.IO.Path.Combine(Path, "nbd");
    /// <summary>The images created for the twin, listed until it is committed (<see cref="Storage.IncomingDisks"/>).</summary>
    public string ImagesManifest => ManifestIn(Path);

    public static string ManifestIn(string folder) => System.IO.Path.Combine(folder, "images");

    public static TwinFolder Create(string runDirectory, string vm, UnixAccount? user)
    {
        var path = System.IO.Path.Combine(runDirectory, $"{vm}.{Guid.NewGuid().ToString("N")[..8]}{Suffix}");
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var folder = new TwinFolder(path, user);
        folder.GiveToUser();
        return folder;
    }

    /// <summary>Hands what is in the folder now to the twin's user (after the TLS files are written).</summary>
    public void GiveToUser() => User?.Own(Path);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
