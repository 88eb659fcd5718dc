using System.Net;
using System.Net.Sockets;

namespace PSMigration.Engine.Transfer;

/// <summary>The socket settings of every engine connection, in one place.</summary>
internal static class SocketTuning
{
    // Linux <netinet/tcp.h>: TCP_USER_TIMEOUT bounds how long sent data may stay unacknowledged,
    // so a black-holed peer fails the connection instead of retransmitting for 15 minutes.
    private const int IpProtoTcp = 6;
    private const int TcpUserTimeout = 18;

    public static void Apply(Socket socket, TimeSpan deadPeer)
    {
        socket.NoDelay = true;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 2);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, Math.Max(2, (int)deadPeer.TotalSeconds - 2));
        if (OperatingSystem.IsLinux())
            socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeout, BitConverter.GetBytes((int)deadPeer.TotalMilliseconds));
    }

    /// <summary>What a writer into a local unix socket may have written and its reader not taken yet: eight 512 KiB
    /// multifd packets. Such a writer waits at its own buffer (212992 bytes by default), whatever the reader sets. Kernel
    /// memory, bounded by the connection count.</summary>
    public const int LocalSendBuffer = 4 << 20;

    /// <summary>Raises <paramref name="socket"/>'s send buffer to <see cref="LocalSendBuffer"/> when it is smaller:
    /// SO_SNDBUFFORCE (root) past net.core.wmem_max, else SO_SNDBUF up to it. False when it was large enough already.</summary>
    public static bool RaiseSendBuffer(Socket socket)
    {
        const int solSocket = 1, soSndBufForce = 32;
        if (socket.SendBufferSize >= LocalSendBuffer) return false;
        var half = BitConverter.GetBytes(LocalSendBuffer / 2); // the kernel doubles what it is given (its bookkeeping)
        try
        {
            socket.SetRawSocketOption(solSocket, soSndBufForce, half);
        }
        catch (SocketException)
        {
            socket.SendBufferSize = LocalSendBuffer / 2; // not root: as far as net.core.wmem_max allows
        }
        return true;
    }

    /// <summary>A TCP connection from <paramref name="source"/> (when given: the NIC the plan chose) to <paramref name="destination"/>.</summary>
    public static async Task<Socket> ConnectAsync(IPAddress? source, IPEndPoint destination, TimeSpan timeout, TimeSpan deadPeer, CancellationToken cancel)
    {
        var socket = new Socket(destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            Apply(socket, deadPeer);
            if (source is not null) socket.Bind(new IPEndPoint(source, 0));
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timer.CancelAfter(timeout);
            try
            {
                await socket.ConnectAsync(destination, timer.Token);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new SocketException((int)SocketError.TimedOut);
            }
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Lets a restarted agent bind its port while old connections linger in TIME_WAIT, but not
    /// share it with a running agent: SO_REUSEADDR alone. (.NET's ReuseAddress also sets SO_REUSEPORT on
    /// Linux, which would let a second agent silently take half the connections.)</summary>
    public static void AllowRestartOnPort(Socket listener)
    {
        const int solSocket = 1, soReuseAddr = 2;
        if (OperatingSystem.IsLinux()) listener.SetRawSocketOption(solSocket, soReuseAddr, BitConverter.GetBytes(1));
    }

    /// <summary>Closes at once with a reset: nothing waits for unsent data, whatever the peer does.</summary>
    public static void Abort(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // already closed: nothing to reset
        }
        socket.Dispose();
    }
}
