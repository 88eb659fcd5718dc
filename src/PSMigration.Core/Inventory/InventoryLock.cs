using System.Diagnostics;
using PSMigration.Core.Diagnostics;

namespace PSMigration.Core.Inventory;

/// <summary>
/// The lock that serializes edits of one inventory file across processes: an exclusive lock (flock, which .NET takes
/// for <see cref="FileShare.None"/>) on <c>.NAME.lock</c> beside the file, held from the read to the rename. The lock
/// file stays (removing it would let two processes lock two different files); the kernel drops the lock when its
/// holder exits, so a crashed psmig never leaves the inventory locked.
/// </summary>
internal sealed class InventoryLock : IDisposable
{
    /// <summary>Longer than any edit takes (a read, a parse, a write): past it, the holder is stuck or very slow.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly FileStream stream;

    private InventoryLock(FileStream stream) => this.stream = stream;

    /// <param name="inventory">The file as the user named it, for the message.</param>
    /// <param name="target">The file that is really written (links followed): its lock is beside it.</param>
    public static InventoryLock Take(string inventory, string target)
    {
        var path = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.lock");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new InventoryLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (Held(e) && clock.Elapsed < Timeout)
            {
                Thread.Sleep(20); // another process edits the file now: a few milliseconds
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new MigrationException("InventoryLocked", FailureKind.OperationFailed,
                    $"Cannot edit {inventory}: {(Held(e) ? $"another process has held its lock ({path}) for {Timeout.TotalSeconds:0} s" : e.Message)}; " +
                    "it is unchanged. Run the command again when the other edit is done.", inventory, e);
            }
        }
    }

    /// <summary>The lock is taken by another holder (not: the folder is gone, or not ours to write).</summary>
    private static bool Held(Exception e) => e is IOException and not (FileNotFoundException or DirectoryNotFoundException);

    public void Dispose() => stream.Dispose();
}
