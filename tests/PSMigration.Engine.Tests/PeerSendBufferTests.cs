using System.Net.Sockets;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>The larger send buffer for a local writer's connections to an engine socket: real unix sockets, the writer
/// being this process (pidfd_getfd works on its own pid as on QEMU's; the QEMU suite's engine migrations check QEMU).</summary>
public sealed class PeerSendBufferTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("psmig-sndbuf-");
    private readonly List<LocalStreams> listeners = new();

    [Fact]
    public async Task The_writers_sockets_to_the_listener_get_the_larger_buffer_once_and_its_other_sockets_keep_theirs()
    {
        var engine = Listen("engine");
        var other = Listen("other");
        var first = await engine.ConnectAsync();
        var second = await engine.ConnectAsync();
        var elsewhere = await other.ConnectAsync();
        var accepted = await engine.AcceptAsync(CancellationToken.None);
        var elsewhereBefore = elsewhere.SendBufferSize;

        var (pid, raised) = PeerSendBuffer.Raise(accepted, engine.Path);

        Assert.Equal(Environment.ProcessId, pid);
        Assert.Equal(2, raised);
        Assert.Equal(Expected(), first.SendBufferSize);
        Assert.Equal(Expected(), second.SendBufferSize);
        Assert.Equal(elsewhereBefore, elsewhere.SendBufferSize);
        Assert.Equal(0, PeerSendBuffer.Raise(accepted, engine.Path).Raised); // nothing left to raise
    }

    [Fact]
    public async Task A_writer_whose_buffer_was_raised_gets_megabytes_into_the_socket_before_it_must_wait_for_the_reader()
    {
        var engine = Listen("engine");
        var writer = await engine.ConnectAsync();
        var accepted = await engine.AcceptAsync(CancellationToken.None);
        writer.Blocking = false;

        var before = WriteUntilFull(writer);
        PeerSendBuffer.Raise(accepted, engine.Path);
        var after = before + WriteUntilFull(writer);

        Assert.True(before < 512 * 1024, $"the system's default let {before} bytes wait unread");
        Assert.True(after > Expected() / 2, $"with the raised buffer only {after} bytes could wait unread");
        Assert.Equal(after, accepted.Available);
    }

    /// <summary>Root sets the full size; anyone else gets what net.core.wmem_max allows, doubled by the kernel.</summary>
    private static int Expected() => Environment.IsPrivilegedProcess
        ? PeerSendBuffer.Size
        : Math.Min(PeerSendBuffer.Size, 2 * int.Parse(File.ReadAllText("/proc/sys/net/core/wmem_max")));

    private static long WriteUntilFull(Socket writer)
    {
        var chunk = new byte[64 * 1024];
        long written = 0;
        while (true)
        {
            var sent = writer.Send(chunk, 0, chunk.Length, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock) return written;
            Assert.Equal(SocketError.Success, error);
            written += sent;
        }
    }

    private LocalStreams Listen(string name)
    {
        var streams = new LocalStreams(directory.FullName, name);
        listeners.Add(streams);
        return streams;
    }

    public void Dispose()
    {
        foreach (var streams in listeners) streams.Dispose();
        directory.Delete(recursive: true);
    }
}
