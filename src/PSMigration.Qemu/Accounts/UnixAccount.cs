using System.Net.Sockets;
using System.Runtime.InteropServices;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Qemu.Accounts;

/// <summary>A user a QEMU runs as: the unprivileged account an agent's twins switch to (<c>-runas</c>), or the account
/// a running QEMU's QMP socket reveals. Files that such a QEMU must create or read after it dropped root (its incoming
/// socket, its TLS credentials, the engine's socket it migrates into) are given to it with <see cref="Own"/>.</summary>
public sealed partial record UnixAccount(string Name, uint Uid, uint Gid)
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>The account of that name; an unknown one is refused, naming it.</summary>
    public static UnixAccount Lookup(string name)
    {
        var entry = getpwnam(name);
        if (entry == IntPtr.Zero)
            throw new MigrationException("UnknownUser", FailureKind.InvalidInput, $"There is no user '{name}' on this host (for --twin-user)", name);
        // struct passwd: char *pw_name; char *pw_passwd; uid_t pw_uid; gid_t pw_gid; ...
        var uid = (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
        var gid = (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size + 4);
        return new UnixAccount(name, uid, gid);
    }

    /// <summary>Who the process at the other end of a connected unix socket runs as now, or null when the system does not
    /// say. SO_PEERCRED gives the credentials the peer had when it listened (root, for a QEMU that dropped root later),
    /// so only its pid is taken from there, and the account from that process as it is now.</summary>
    public static UnixAccount? OfPeer(Socket socket)
    {
        var credentials = new byte[12]; // struct ucred: pid_t pid; uid_t uid; gid_t gid
        try
        {
            if (socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials) < credentials.Length) return null;
            var pid = BitConverter.ToInt32(credentials, 0);
            var status = File.ReadAllLines($"/proc/{pid}/status");
            uint Effective(string field) => uint.Parse(status.Single(l => l.StartsWith(field, StringComparison.Ordinal)).Split('\t')[2], System.Globalization.CultureInfo.InvariantCulture);
            var uid = Effective("Uid:");
            return new UnixAccount($"uid {uid}", uid, Effective("Gid:"));
        }
        catch (Exception e) when (e is SocketException or IOException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Whether this process runs as this account already (nothing to give it).</summary>
    public bool IsCurrent => geteuid() == Uid;

    /// <summary>Lets every user enter <paramref name="directory"/> (search only, not list), so that this account reaches its
    /// own folders in it; true when the mode had to change.</summary>
    public static bool AllowSearch(string directory)
    {
        if (OperatingSystem.IsWindows()) return false;
        var mode = File.GetUnixFileMode(directory);
        if (mode.HasFlag(UnixFileMode.OtherExecute)) return false;
        File.SetUnixFileMode(directory, mode | UnixFileMode.OtherExecute);
        return true;
    }

    /// <summary>Gives <paramref name="path"/> (and, for a folder, everything in it) to this account.</summary>
    public void Own(string path)
    {
        if (lchown(path, Uid, Gid) != 0)
            throw new MigrationException("ChownFailed", FailureKind.OperationFailed,
                $"Cannot give {path} to {Name}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}", path);
        if (Directory.Exists(path) && !File.GetAttributes(path).HasFlag(FileAttributes.ReparsePoint))
            foreach (var entry in Directory.EnumerateFileSystemEntries(path)) Own(entry);
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getpwnam(string name);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lchown(string path, uint owner, uint group);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}
