using PSMigration.Engine.Protocol;
using PSMigration.Engine.Transfer;

namespace PSMigration.Engine.Tests;

/// <summary>What a channel keeps to send again after a break: bounded by its window, forgotten once acknowledged, and sent
/// again from exactly where the receiver stopped.</summary>
public class ReplayBufferTests
{
    /// <summary>Keeps a frame as a channel does: room first, then the frame.</summary>
    private static async Task KeepAsync(ReplayBuffer replay, byte[] frame, FrameType type, int payload)
    {
        await replay.WaitRoomAsync(CancellationToken.None);
        replay.Add(frame, frame.Length, type, payload, pooled: false);
    }

    private static byte[] DataFrame(int payload, byte fill)
    {
        var frame = new byte[FrameHeader.Size + payload];
        new FrameHeader(FrameType.Data, payload).Write(frame);
        frame.AsSpan(FrameHeader.Size).Fill(fill);
        return frame;
    }

    [Fact]
    public async Task A_sender_waits_for_acknowledgements_once_its_window_is_full()
    {
        using var replay = new ReplayBuffer();
        var frames = ReplayBuffer.Window / ReplayBuffer.FullFrame;
        for (var i = 0; i < frames; i++)
        {
            var frame = await replay.RentAsync(CancellationToken.None);
            replay.Add(frame, ReplayBuffer.FullFrame, FrameType.Data, FramedPump.PayloadSize, pooled: true);
        }

        var next = replay.RentAsync(CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(next.IsCompleted, "the window is full: nothing more may be kept");
        replay.Ack(FramedPump.PayloadSize); // the first frame arrived
        replay.GiveBack(await next.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(FramedPump.PayloadSize, replay.Acked);
    }

    [Fact]
    public async Task What_is_sent_again_starts_where_the_receiver_stopped_and_ends_with_the_end()
    {
        using var replay = new ReplayBuffer();
        await KeepAsync(replay, DataFrame(10, 1), FrameType.Data, 10);
        await KeepAsync(replay, DataFrame(20, 2), FrameType.Data, 20);
        var end = new byte[FrameHeader.Size + 8];
        new FrameHeader(FrameType.End, 8).Write(end);
        await KeepAsync(replay, end, FrameType.End, 8);
        Assert.Equal(31, replay.Sent); // 30 payload bytes and the End

        replay.Ack(10); // the first frame arrived
        var again = replay.From(15).SelectMany(part => part.ToArray()).ToArray(); // and 5 bytes of the second

        var header = FrameHeader.Read(again);
        Assert.Equal((FrameType.Data, 15), (header.Type, header.Length));
        Assert.All(again.AsSpan(FrameHeader.Size, 15).ToArray(), b => Assert.Equal((byte)2, b));
        Assert.Equal(FrameType.End, FrameHeader.Read(again.AsSpan(FrameHeader.Size + 15)).Type);
        Assert.Empty(replay.From(31));
    }

    [Fact]
    public async Task A_peer_that_claims_more_than_was_sent_or_resumes_before_what_it_acknowledged_is_a_protocol_error()
    {
        using var replay = new ReplayBuffer();
        await KeepAsync(replay, DataFrame(10, 1), FrameType.Data, 10);
        await KeepAsync(replay, DataFrame(10, 2), FrameType.Data, 10);

        Assert.Contains("only 20 was sent", Assert.Throws<ProtocolException>(() => replay.Ack(21)).Message);
        replay.Ack(10);
        Assert.Contains("outside what is kept (10 to 20)", Assert.Throws<ProtocolException>(() => replay.From(5)).Message);
    }
}
