using System.Net.Sockets;

namespace PSMigration.Engine.Tests;

/// <summary>Unix sockets standing where QEMU's would: a listener on each side and helpers to move bytes.</summary>
public sealed class LocalStreams : IDisposable
{
    private readonly List<Socket> sockets = new();

    public LocalStreams(string directory, string name, string extension = ".sock")
    {
        Path = System.IO.Path.Combine(directory, name + extension);
        Listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Listener.Bind(new UnixDomainSocketEndPoint(Path));
        Listener.Listen(64);
        sockets.Add(Listener);
    }

    public string Path { get; }
    public Socket Listener { get; }

    public async Task<Socket> AcceptAsync(CancellationToken cancel)
    {
        var socket = await Listener.AcceptAsync(cancel);
        lock (sockets) sockets.Add(socket);
        return socket;
    }

    public async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path));
        lock (sockets) sockets.Add(socket);
        return socket;
    }

    /// <summary>Opens one stream per <paramref name="up"/> through a relay from <paramref name="source"/> to
    /// <paramref name="target"/>, in order (as QEMU connects), and returns a check per stream: <paramref name="up"/>[i]
    /// arrives at the target and <paramref name="down"/>[i] back at the source, byte for byte. <paramref name="oneWayFirst"/>:
    /// the source's side is read only once the target's has ended, so one way waits on the other.</summary>
    public static async Task<List<Task>> ExchangeAsync(LocalStreams source, LocalStreams target, byte[][] up, byte[][] down, bool oneWayFirst)
    {
        var checks = new List<Task>();
        for (var i = 0; i < up.Length; i++)
        {
            var client = await source.ConnectAsync();
            var server = await target.AcceptAsync(CancellationToken.None);
            var index = i;
            checks.Add(Task.Run(async () =>
            {
                var sending = SendAllAsync(client, up[index]);
                var answering = SendAllAsync(server, down[index]);
                var atSource = oneWayFirst ? null : ReceiveAllAsync(client);
                var atTarget = await ReceiveAllAsync(server);
                var back = await (atSource ?? ReceiveAllAsync(client));
                await Task.WhenAll(sending, answering);
                Assert.True(up[index].AsSpan().SequenceEqual(atTarget), $"stream {index} to the target differs");
                Assert.True(down[index].AsSpan().SequenceEqual(back), $"stream {index} back to the source differs");
            }));
        }
        return checks;
    }

    public static async Task SendAllAsync(Socket socket, byte[] data, bool thenClose = true)
    {
        for (var sent = 0; sent < data.Length;)
            sent += await socket.SendAsync(data.AsMemory(sent, Math.Min(1 << 20, data.Length - sent)), SocketFlags.None);
        if (thenClose) socket.Shutdown(SocketShutdown.Send);
    }

    public static async Task<byte[]> ReceiveAllAsync(Socket socket)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        while (true)
        {
            var read = await socket.ReceiveAsync(chunk, SocketFlags.None);
            if (read == 0) return buffer.ToArray();
            buffer.Write(chunk, 0, read);
        }
    }

    /// <summary>Whether the peer has closed this socket (end of stream or reset), within <paramref name="within"/>.</summary>
    public static async Task<bool> ClosedByPeerAsync(Socket socket, TimeSpan within)
    {
        var buffer = new byte[1 << 16];
        using var timer = new CancellationTokenSource(within);
        try
        {
            while (true)
                if (await socket.ReceiveAsync(buffer, SocketFlags.None, timer.Token) == 0) return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        lock (sockets) foreach (var socket in sockets) socket.Dispose();
        File.Delete(Path);
    }
}
