namespace PSMigration.Core;

/// <summary>Reports on the caller's thread, in order (Progress&lt;T&gt; posts to a thread pool and may reorder).</summary>
public sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
