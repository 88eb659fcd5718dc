namespace PSMigration.Engine.Transfer;

/// <summary>What one channel moved, updated as it goes (readers see a consistent snapshot per field).</summary>
public sealed class ChannelStats(int index)
{
    private long sent;
    private long received;

    public int Index { get; } = index;
    public long BytesSent => Interlocked.Read(ref sent);
    public long BytesReceived => Interlocked.Read(ref received);

    internal void AddSent(long bytes) => Interlocked.Add(ref sent, bytes);
    internal void AddReceived(long bytes) => Interlocked.Add(ref received, bytes);
}
