using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace PSMigration.Engine.Tests;

/// <summary>
/// A network path that a test can cut: a real TCP forwarder on its own loopback address in front of the agent. Cut: what
/// is sent through it vanishes, on the connections it carries and on new ones (accepted, never answered), as when a cable
/// or a switch port dies: nobody says anything. Restore: new connections are forwarded again (the old ones stay dead, as
/// the engine has given up on them by then).
/// </summary>
internal sealed class CuttablePath : IAsyncDisposable
{
    private readonly IPEndPoint target;
    private readonly IPAddress address;
    private readonly ConcurrentDictionary<Socket, bool> open = new();
    private Socket? listener;
    private int port;
    /// <summary>Connections made while the path was cut never carry anything.</summary>
    private long generation;
    private volatile bool cut;

    public CuttablePath(IPAddress address, IPEndPoint target)
    {
        this.address = address;
        this.target = target;
        Restore();
    }

    public IPEndPoint Endpoint => new(address, port);
    /// <summary>Connections it has forwarded so far.</summary>
    public int Forwarded;

    public void Restore()
    {
        Interlocked.Increment(ref generation);
        cut = false;
        if (listener is not null) return;
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, port));
        socket.Listen(64);
        port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        listener = socket;
        _ = AcceptLoopAsync(socket);
    }

    public void Cut()
    {
        Interlocked.Increment(ref generation);
        cut = true;
    }

    private async Task AcceptLoopAsync(Socket socket)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await socket.AcceptAsync();
            }
            catch (Exception)
            {
                return;
            }
            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        open[client] = true;
        open[server] = true;
        var born = Interlocked.Read(ref generation);
        try
        {
            if (cut) await Task.Delay(Timeout.Infinite); // a SYN answered by nobody, as far as the engine can tell
            server.Bind(new IPEndPoint(EngineLab.Source, 0));
            await server.ConnectAsync(target);
            Interlocked.Increment(ref Forwarded);
            await Task.WhenAny(PumpAsync(client, server, born), PumpAsync(server, client, born));
        }
        catch (Exception)
        {
            // cut
        }
        finally
        {
            Reset(client);
            Reset(server);
        }
    }

    private async Task PumpAsync(Socket from, Socket to, long born)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReceiveAsync(buffer);
            if (Interlocked.Read(ref generation) != born) await Task.Delay(Timeout.Infinite); // cut: the bytes vanish
            if (read == 0)
            {
                to.Shutdown(SocketShutdown.Send);
                await Task.Delay(Timeout.Infinite); // the other way may go on
            }
            await to.SendAsync(buffer.AsMemory(0, read));
        }
    }

    private void Reset(Socket socket)
    {
        open.TryRemove(socket, out _);
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception)
        {
            // closed already
        }
        socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        listener?.Dispose();
        foreach (var socket in open.Keys) Reset(socket);
        return ValueTask.CompletedTask;
    }
}
