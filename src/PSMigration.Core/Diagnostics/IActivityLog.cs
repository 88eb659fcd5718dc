namespace PSMigration.Core.Diagnostics;

/// <summary>
/// What a command tells a user who asks: the story of what it does (<c>-Verbose</c>, <c>psmig --verbose</c>:
/// which inventory, which network and why, each QMP and libvirt step, the agent session) and the protocol
/// underneath (<c>-Debug</c>, <c>--debug</c>: QMP messages, control messages, hellos). Called from any
/// thread; the front-end decides where the lines go.
/// </summary>
public interface IActivityLog
{
    /// <summary>Whether debug lines are wanted: callers skip building costly ones (a JSON dump) when not.</summary>
    bool DebugEnabled { get; }

    void Verbose(string message);

    void Debug(string message);
}

/// <summary>The log of a command nobody asked to explain itself.</summary>
public sealed class SilentLog : IActivityLog
{
    public static SilentLog Instance { get; } = new();

    private SilentLog()
    {
    }

    public bool DebugEnabled => false;
    public void Verbose(string message) { }
    public void Debug(string message) { }
}
