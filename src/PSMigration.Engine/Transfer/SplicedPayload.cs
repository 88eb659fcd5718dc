using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PSMigration.Engine.Transfer;

/// <summary>
/// Carries a Data frame's payload from a plain TCP connection to a local socket inside the kernel (Linux
/// <c>splice(2)</c> through a pipe), so a plain channel's receiving end copies no payload byte through user space.
/// A frame is taken off the connection whole (<see cref="TakeAsync"/>) before any of it is handed on
/// (<see cref="DeliverAsync"/>): a connection that breaks midway leaves a part in the pipe that is thrown away
/// (<see cref="Discard"/>) and comes again whole on the next connection, so nothing is delivered twice.
/// </summary>
internal sealed partial class SplicedPayload : IDisposable
{
    private const int SpliceMove = 1, SpliceNonBlock = 2;
    private const int OCloexec = 0x80000, ONonBlock = 0x800;
    private const int FSetPipeSize = 1031;
    private const int EAgain = 11, EIntr = 4;
    /// <summary>Room for four full frames: the pipe holds a frame in pieces (one per buffer slot), and pieces of TCP
    /// segments may be far smaller than a page (what does not fit is read by hand).</summary>
    public const int PipeSize = 4 * FramedPump.PayloadSize;

    private readonly Socket local;
    private readonly int pipeSize;
    /// <summary>What the pipe could not hold (<see cref="TakeAsync"/>), handed on after it.</summary>
    private readonly byte[] overflow = new byte[FramedPump.PayloadSize];
    private int readEnd = -1, writeEnd = -1;
    /// <summary>The sockets known to be non-blocking. A socket splice reads or writes waits as its descriptor does,
    /// whatever the splice's flags, and .NET makes a descriptor non-blocking only at its first asynchronous call.</summary>
    private EngineChannel? readyConnection;
    private bool localReady;
    private int inPipe, overflowed;

    private SplicedPayload(Socket local, int pipeSize) => (this.local, this.pipeSize) = (local, pipeSize);

    /// <summary>A zero-copy path into <paramref name="local"/>, or null where there is none (not Linux, no pipe of the
    /// size asked for): the caller then copies.</summary>
    public static SplicedPayload? Into(Socket local, int pipeSize = PipeSize)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var spliced = new SplicedPayload(local, pipeSize);
        if (spliced.OpenPipe()) return spliced;
        spliced.Dispose();
        return null;
    }

    /// <summary>Takes <paramref name="length"/> payload bytes off a plain <paramref name="connection"/> (its
    /// <see cref="EngineChannel.Plain"/> socket) into the pipe, waiting for them as a stream read would; throws as a stream
    /// read would when the connection ends or breaks.</summary>
    public async ValueTask TakeAsync(EngineChannel connection, int length, CancellationToken cancel)
    {
        var socket = connection.Plain ?? throw new InvalidOperationException($"{connection.Name} is not plain: its payload cannot bypass its stream");
        if (connection != readyConnection)
        {
            await WaitForDataAsync(socket, cancel);
            readyConnection = connection;
        }
        var left = length;
        while (left > 0)
        {
            var moved = Splice(socket.SafeHandle, intoPipe: true, left);
            if (moved > 0)
            {
                left -= moved;
                inPipe += moved;
            }
            else if (moved == 0) throw new EndOfStreamException("the connection closed in the middle of a frame");
            else if (socket.Available == 0) await WaitForDataAsync(socket, cancel);
            else
            {
                // The pipe is full of small pieces: the rest of the frame is read by hand.
                await connection.Stream.ReadExactlyAsync(overflow.AsMemory(0, left), cancel);
                overflowed = left;
                left = 0;
            }
        }
    }

    /// <summary>Hands on what <see cref="TakeAsync"/> took, waiting while the local socket is full.</summary>
    public async ValueTask DeliverAsync(CancellationToken cancel)
    {
        if (!localReady)
        {
            await local.SendAsync(ReadOnlyMemory<byte>.Empty, SocketFlags.None, cancel); // sends nothing
            localReady = true;
        }
        while (inPipe > 0)
        {
            var moved = Splice(local.SafeHandle, intoPipe: false, inPipe);
            if (moved > 0)
            {
                inPipe -= moved;
                continue;
            }
            // The local socket is full. Move a piece by hand: the socket's own send waits for room (nothing waits
            // for a socket to take a splice).
            var piece = Math.Min(inPipe, 64 * 1024);
            ReadPipe(overflow.AsSpan(overflowed, piece)); // the overflow's tail is free: what overflowed fits after it
            inPipe -= piece;
            await FramedPump.SendAllAsync(local, overflow.AsMemory(overflowed, piece), cancel);
        }
        if (overflowed > 0)
        {
            await FramedPump.SendAllAsync(local, overflow.AsMemory(0, overflowed), cancel);
            overflowed = 0;
        }
    }

    /// <summary>Throws away a frame taken in part (its connection broke): it comes again whole.</summary>
    public void Discard()
    {
        ClosePipe();
        inPipe = overflowed = 0;
        if (!OpenPipe()) throw new IOException("cannot open a pipe for the channel's payload");
    }

    public void Dispose() => ClosePipe();

    /// <summary>A receive of nothing: it waits until the connection has data (or ends), and takes none.</summary>
    private static async ValueTask WaitForDataAsync(Socket connection, CancellationToken cancel) =>
        await connection.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancel);

    /// <summary>Moves up to <paramref name="length"/> bytes between <paramref name="socket"/> and the pipe without
    /// waiting; -1 when the socket has nothing (or no room) now.</summary>
    private int Splice(SafeHandle socket, bool intoPipe, int length)
    {
        var added = false;
        try
        {
            // Held, so a concurrent abort cannot close the descriptor (and another file take its number) mid-call.
            socket.DangerousAddRef(ref added);
            var fd = (int)socket.DangerousGetHandle();
            while (true)
            {
                var moved = intoPipe
                    ? splice(fd, IntPtr.Zero, writeEnd, IntPtr.Zero, (nuint)length, SpliceMove | SpliceNonBlock)
                    : splice(readEnd, IntPtr.Zero, fd, IntPtr.Zero, (nuint)length, SpliceMove | SpliceNonBlock);
                if (moved >= 0) return (int)moved;
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EAgain) return -1;
                if (errno != EIntr) throw new IOException($"splice: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }
        catch (ObjectDisposedException e)
        {
            throw new IOException("the connection was closed", e);
        }
        finally
        {
            if (added) socket.DangerousRelease();
        }
    }

    private void ReadPipe(Span<byte> into)
    {
        while (!into.IsEmpty)
        {
            var got = read(readEnd, ref MemoryMarshal.GetReference(into), (nuint)into.Length);
            if (got <= 0) throw new IOException($"cannot read the channel's pipe: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            into = into[(int)got..];
        }
    }

    private bool OpenPipe()
    {
        Span<int> ends = stackalloc int[2];
        if (pipe2(ref MemoryMarshal.GetReference(ends), OCloexec | ONonBlock) != 0) return false;
        (readEnd, writeEnd) = (ends[0], ends[1]);
        return fcntl(writeEnd, FSetPipeSize, pipeSize) >= pipeSize;
    }

    private void ClosePipe()
    {
        if (readEnd >= 0) close(readEnd);
        if (writeEnd >= 0) close(writeEnd);
        readEnd = writeEnd = -1;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint splice(int fdIn, IntPtr offIn, int fdOut, IntPtr offOut, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(ref int fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, ref byte buffer, nuint count);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
