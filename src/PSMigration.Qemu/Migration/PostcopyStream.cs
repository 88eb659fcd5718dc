namespace PSMigration.Qemu.Migration;

/// <summary>The one rule for when a post-copy stream has stalled, for both backends: the source pushes the rest of the
/// memory all the time, so a stream whose sent bytes have not grown for <see cref="Stall"/> is broken (a link that is
/// down, not reset), not in a lull.</summary>
internal sealed class PostcopyStream
{
    public static readonly TimeSpan Stall = TimeSpan.FromSeconds(5);
    private long bytes = -1;

    /// <summary>When the stream last carried data (or was started or resumed).</summary>
    public DateTimeOffset LastMoved { get; private set; } = DateTimeOffset.UtcNow;

    public bool Stalled => DateTimeOffset.UtcNow - LastMoved > Stall;

    /// <summary>Notes what has been sent so far; true when it grew since the last note.</summary>
    public bool Moved(long sent)
    {
        if (sent == bytes) return false;
        bytes = sent;
        LastMoved = DateTimeOffset.UtcNow;
        return true;
    }

    /// <summary>The stream runs again: the stall bound counts from now.</summary>
    public void Resumed() => LastMoved = DateTimeOffset.UtcNow;
}
