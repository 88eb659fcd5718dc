using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>The plain receive path in the kernel: real TCP over loopback in, a real Unix socket out.</summary>
public sealed class SplicedPayloadTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("psmig-splice-");
    private readonly List<Socket> sockets = new();

    [Theory]
    [InlineData(SplicedPayload.PipeSize, 1 << 20)] // the pipe holds each frame; sent in large writes
    [InlineData(64 * 1024, 1500)] // a pipe smaller than a frame, filled by small segments: the rest is read by hand
    public async Task Frames_arrive_byte_exact_in_order_when_the_local_end_reads_late_and_slowly(int pipeSize, int writeSize)
    {
        const int frames = 24;
        var (sender, connection) = await TcpPairAsync();
        var (reader, local) = await UnixPairAsync(); // the accepted end, on which nothing asynchronous ran yet
        local.SendBufferSize = 16 * 1024; // the local socket fills long before a frame is in: delivery must wait for room
        using var spliced = SplicedPayload.Into(local, pipeSize);
        Assert.NotNull(spliced);
        var sizes = Enumerable.Range(0, frames).Select(i => i % 3 == 0 ? FramedPump.PayloadSize : 1 + i * 7919).ToArray();
        var stream = RandomNumberGenerator.GetBytes(sizes.Sum());

        var sending = SendInPiecesAsync(sender, stream, writeSize);
        var arriving = Task.Run(async () =>
        {
            await Task.Delay(300); // late ...
            var got = new MemoryStream();
            var chunk = new byte[4096];
            while (await reader.ReceiveAsync(chunk, SocketFlags.None) is > 0 and var read)
            {
                got.Write(chunk, 0, read);
                if (got.Length % (256 * 1024) < 4096) await Task.Delay(5); // ... and slow
            }
            return got.ToArray();
        });
        foreach (var size in sizes)
        {
            await spliced!.TakeAsync(Plain(connection), size, CancellationToken.None);
            await spliced.DeliverAsync(CancellationToken.None);
        }
        local.Shutdown(SocketShutdown.Send);
        await sending;

        var arrived = await arriving.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(stream.Length, arrived.Length);
        Assert.True(stream.AsSpan().SequenceEqual(arrived), "the local end got other bytes than were sent");
    }

    [Fact]
    public async Task A_frame_cut_off_midway_is_thrown_away_and_the_same_frame_on_a_new_connection_arrives_once()
    {
        var frame = RandomNumberGenerator.GetBytes(200_000);
        var (local, reader) = await UnixPairAsync();
        using var spliced = SplicedPayload.Into(local);
        Assert.NotNull(spliced);

        var (broken, first) = await TcpPairAsync();
        await broken.SendAsync(frame.AsMemory(0, 120_000), SocketFlags.None);
        broken.Shutdown(SocketShutdown.Send);
        await Assert.ThrowsAsync<EndOfStreamException>(() => spliced!.TakeAsync(Plain(first), frame.Length, CancellationToken.None).AsTask());
        spliced!.Discard();

        var (fresh, second) = await TcpPairAsync();
        var sending = SendInPiecesAsync(fresh, frame, 1 << 16);
        await spliced.TakeAsync(Plain(second), frame.Length, CancellationToken.None);
        await spliced.DeliverAsync(CancellationToken.None);
        local.Shutdown(SocketShutdown.Send);
        await sending;

        var arrived = await LocalStreams.ReceiveAllAsync(reader);
        Assert.Equal(frame.Length, arrived.Length);
        Assert.True(frame.AsSpan().SequenceEqual(arrived), "a part of the cut frame was delivered");
    }

    [Fact]
    public async Task A_connection_reset_while_waiting_for_a_frame_fails_the_take_as_a_broken_connection()
    {
        var (local, _) = await UnixPairAsync();
        using var spliced = SplicedPayload.Into(local);
        var (sender, connection) = await TcpPairAsync();
        var channel = Plain(connection);
        var taking = Task.Run(() => spliced!.TakeAsync(channel, 1000, CancellationToken.None).AsTask());
        await Task.Delay(200);
        await Task.Run(channel.Abort).WaitAsync(TimeSpan.FromSeconds(10)); // as a broken link's watchdog does, while the take waits for data

        var error = await Assert.ThrowsAnyAsync<Exception>(() => taking.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.IsNotType<TimeoutException>(error);
        Assert.True(error is IOException or SocketException or ObjectDisposedException or OperationCanceledException, error.ToString());
        GC.KeepAlive(sender);
    }

    [Fact]
    public async Task A_take_waiting_for_data_ends_as_soon_as_it_is_cancelled()
    {
        var (local, _) = await UnixPairAsync();
        using var spliced = SplicedPayload.Into(local);
        var (_, connection) = await TcpPairAsync();
        using var cancel = new CancellationTokenSource();
        var taking = Task.Run(() => spliced!.TakeAsync(Plain(connection), 1000, cancel.Token).AsTask());
        await Task.Delay(200);
        cancel.Cancel();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => taking.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.IsAssignableFrom<OperationCanceledException>(error);
    }

    /// <summary>A plain engine connection over <paramref name="socket"/>, as the agent makes one.</summary>
    private static EngineChannel Plain(Socket socket) =>
        new(0, socket, new NetworkStream(socket, ownsSocket: false), socket.RemoteEndPoint!, TimeSpan.FromSeconds(30));

    private static async Task SendInPiecesAsync(Socket socket, byte[] data, int piece)
    {
        for (var sent = 0; sent < data.Length;)
            sent += await socket.SendAsync(data.AsMemory(sent, Math.Min(piece, data.Length - sent)), SocketFlags.None);
        socket.Shutdown(SocketShutdown.Send);
    }

    private async Task<(Socket Sender, Socket Receiver)> TcpPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var sender = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
        var accepting = listener.AcceptAsync();
        await sender.ConnectAsync(listener.LocalEndPoint!);
        return (sender, Keep(await accepting));
    }

    private async Task<(Socket Writer, Socket Reader)> UnixPairAsync()
    {
        var path = Path.Combine(directory.FullName, $"{sockets.Count}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var writer = Keep(new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified));
        var accepting = listener.AcceptAsync();
        await writer.ConnectAsync(new UnixDomainSocketEndPoint(path));
        return (writer, Keep(await accepting));
    }

    private Socket Keep(Socket socket)
    {
        sockets.Add(socket);
        return socket;
    }

    public void Dispose()
    {
        foreach (var socket in sockets) socket.Dispose();
        directory.Delete(recursive: true);
    }
}
