using System.Collections.Concurrent;
using System.Net.Sockets;
using PSMigration.Core.Diagnostics;
using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>How often a receiver acknowledges: an acknowledgement per frame cost a quarter of the relay's CPU.</summary>
public sealed class AcknowledgementTests
{
    [Fact]
    public async Task A_stream_in_small_pieces_is_acknowledged_in_batches_not_once_per_frame_and_arrives_whole()
    {
        const int pieces = 1500, piece = 4096;
        await using var lab = await EngineLab.StartAsync();
        using var source = new LocalStreams(lab.Directory, "src");
        using var target = new LocalStreams(lab.Directory, "dst");
        var log = new DebugLog();
        await using var session = await EngineSession.OpenAsync(lab.Session(1, tls: false) with { Log = log }, TransferMode.Relay, "qemu", CancellationToken.None);
        var relay = session.RelayAsync((_, cancel) => source.AcceptAsync(cancel), CancellationToken.None);

        var atSource = await source.ConnectAsync();
        var atTarget = await target.AcceptAsync(CancellationToken.None);
        var down = new byte[pieces * piece];
        Random.Shared.NextBytes(down);
        var arriving = LocalStreams.ReceiveAllAsync(atSource);
        // Like a QEMU that writes a little at a time: each piece goes on its own, so the agent sends it as a short
        // frame, and the source receives about as many frames as pieces.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < pieces; i++)
        {
            await atTarget.SendAsync(down.AsMemory(i * piece, piece), SocketFlags.None);
            await Task.Delay(1);
        }
        atTarget.Shutdown(SocketShutdown.Send);
        atSource.Shutdown(SocketShutdown.Send);
        var arrived = await arriving;
        Assert.True(down.AsSpan().SequenceEqual(arrived), "the stream back to the source differs");
        Assert.Empty(await LocalStreams.ReceiveAllAsync(atTarget));
        var result = await relay;

        Assert.Equal(down.Length, result.BytesReceived);
        // The source acknowledges what it received after every 8 frames, every 2 MiB, or 20 ms after a short frame,
        // whichever comes first (a piece may come as two frames). One per frame would be 1,500 or more; this bound is
        // about 460 when the pieces take the 1.7 s they take here.
        var bound = 2 * pieces / 8 + (int)(clock.ElapsedMilliseconds / 20) + 4;
        var acks = log.Lines.Count(l => l.Contains("control -> {\"type\":\"acks\"", StringComparison.Ordinal));
        Assert.InRange(acks, 1, bound);
    }

    private sealed class DebugLog : IActivityLog
    {
        public ConcurrentQueue<string> Lines { get; } = new();
        public bool DebugEnabled => true;
        public void Verbose(string message) => Lines.Enqueue(message);
        public void Debug(string message) => Lines.Enqueue(message);
    }
}
