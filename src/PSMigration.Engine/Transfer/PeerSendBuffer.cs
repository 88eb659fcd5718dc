using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// Raises the send buffer of a local writer's end of its connections to a unix socket of the engine: the source QEMU's
/// main and multifd channels. A unix socket's writer waits once its own send buffer is unread (212992 bytes by default,
/// less than one 512 KiB multifd packet), whatever the reader sets. While all of QEMU's multifd channels wait in a write,
/// its migration thread spins on their mutexes looking for a free one (QEMU 7.2, seen with perf), taking a CPU from the
/// engine. Over TCP the kernel grows the buffer itself, so QEMU direct waits less. The engine
/// takes a copy of the writer's descriptor (pidfd_getfd: root's CAP_SYS_PTRACE), sets the buffer on that copy, which is
/// the same socket, and closes the copy.
/// </summary>
public static partial class PeerSendBuffer
{
    /// <summary>The send buffer each such socket gets.</summary>
    public const int Size = SocketTuning.LocalSendBuffer;

    private const int SolSocket = 1, SoPeerCred = 17;
    private const long SysPidfdOpen = 434, SysPidfdGetfd = 438; // the same numbers on every Linux architecture
    private const int Ebadf = 9;

    /// <summary>Raises every socket of the process at the other end of <paramref name="accepted"/> that is connected to
    /// <paramref name="path"/> to <see cref="Size"/>; returns the writer's pid and how many it
    /// raised. Throws <see cref="IOException"/> saying why not (not Linux, not allowed).</summary>
    public static (int Pid, int Raised) Raise(Socket accepted, string path)
    {
        if (!OperatingSystem.IsLinux()) throw new IOException("not Linux");
        var credentials = new byte[12]; // struct ucred: pid, uid, gid
        accepted.GetRawSocketOption(SolSocket, SoPeerCred, credentials);
        var pid = BitConverter.ToInt32(credentials, 0);
        var pidfd = (int)syscall(SysPidfdOpen, pid, 0, 0);
        if (pidfd < 0) throw Failure($"pidfd_open({pid})");
        try
        {
            var raised = 0;
            foreach (var entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                if (new FileInfo(entry).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) != true
                    || !int.TryParse(Path.GetFileName(entry), out var theirs)) continue;
                var copy = (int)syscall(SysPidfdGetfd, pidfd, theirs, 0);
                if (copy < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Ebadf) continue; // closed since the listing
                    throw Failure($"pidfd_getfd(pid {pid}, fd {theirs})");
                }
                using var handle = new SafeSocketHandle(copy, ownsHandle: true);
                if (Unix(handle) is { } socket && ConnectedTo(socket, path) && SocketTuning.RaiseSendBuffer(socket)) raised++;
            }
            return (pid, raised);
        }
        finally
        {
            close(pidfd);
        }
    }

    /// <summary>The copy as a unix socket; null for another kind, or a descriptor reused for something else since the listing.</summary>
    private static Socket? Unix(SafeSocketHandle handle)
    {
        try
        {
            var socket = new Socket(handle);
            return socket.AddressFamily == AddressFamily.Unix ? socket : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private static bool ConnectedTo(Socket socket, string path)
    {
        try
        {
            return socket.RemoteEndPoint?.ToString() == path;
        }
        catch (SocketException)
        {
            return false; // a listener, or not connected
        }
    }

    private static IOException Failure(string call) =>
        new($"{call}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, long a, long b, long c);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
