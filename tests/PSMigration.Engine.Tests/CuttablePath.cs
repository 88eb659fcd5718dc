using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace PSMigration.Engine.Tests;

/// <summary>
/// A network path that a test can cut: a real TCP forwarder on its own loopback address in front of the agent. Cut: every
/// connection through it is reset and new ones are refused, as when a link goes down and the peer's stack answers again;
/// Restore: it forwards new connections again.
/// </summary>
internal sealed class CuttablePath : IAsyncDisposable
{
    private readonly IPEndPoint target;
    private readonly IPAddress address;
    private readonly ConcurrentDictionary<Socket, bool> open = new();
    private Socket? listener;
    private int port;

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
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(address, port));
        socket.Listen(64);
        port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        listener = socket;
        _ = AcceptLoopAsync(socket);
    }

    public void Cut()
    {
        listener?.Dispose();
        listener = null;
        foreach (var socket in open.Keys) Reset(socket);
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
        try
        {
            server.Bind(new IPEndPoint(EngineLab.Source, 0));
            await server.ConnectAsync(target);
            Interlocked.Increment(ref Forwarded);
            await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
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

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReceiveAsync(buffer);
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
        Cut();
        return ValueTask.CompletedTask;
    }
}
