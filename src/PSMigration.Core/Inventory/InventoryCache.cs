using System.Runtime.InteropServices;

namespace PSMigration.Core.Inventory;

/// <summary>
/// Loaded inventories, one per file, reused until the file changes: its length, modification time or
/// inode (an editor's or our own atomic replace gives a new inode). A session of cmdlets (a pipeline,
/// Tab completion) then reads a big inventory once instead of at every command. Inventories are
/// immutable, so one copy serves every runspace of the process. Only readers use it: edits
/// (policy, VM host) always read the file itself, so they never work from a stale copy.
/// </summary>
public static class InventoryCache
{
    /// <summary>How many files are kept: a session uses one or two; an old one is dropped first.</summary>
    private const int Capacity = 4;

    private static readonly LinkedList<(string Path, FileIdentity Identity, MigrationInventory Inventory)> entries = new();

    /// <summary>The inventory at <paramref name="path"/> (a full path), from the cache when the file is unchanged.</summary>
    /// <param name="reused">True when no file was read.</param>
    public static MigrationInventory Load(string path, out bool reused)
    {
        var identity = FileIdentity.Of(path);
        lock (entries)
        {
            for (var node = entries.First; node is not null; node = node.Next)
            {
                if (node.Value.Path != path) continue;
                if (identity is not null && node.Value.Identity == identity)
                {
                    entries.Remove(node);
                    entries.AddFirst(node);
                    reused = true;
                    return node.Value.Inventory;
                }
                entries.Remove(node);
                break;
            }
        }
        var inventory = InventoryLoader.Load(path); // outside the lock: a big file takes a while
        reused = false;
        // The identity read before loading: if the file changed meanwhile, the next call reloads it.
        if (identity is null) return inventory;
        lock (entries)
        {
            entries.AddFirst((path, identity.Value, inventory));
            while (entries.Count > Capacity) entries.RemoveLast();
        }
        return inventory;
    }

    /// <summary>Forgets every loaded inventory.</summary>
    public static void Clear()
    {
        lock (entries) entries.Clear();
    }

    /// <summary>What tells one version of a file from the next without reading it.</summary>
    private readonly record struct FileIdentity(long Length, DateTime LastWriteUtc, ulong Inode)
    {
        /// <summary>Null when the file cannot be looked at (the loader then says why).</summary>
        public static FileIdentity? Of(string path)
        {
            try
            {
                var target = new FileInfo(path);
                if (target.ResolveLinkTarget(returnFinalTarget: true) is FileInfo resolved) target = resolved;
                if (!target.Exists) return null;
                return new FileIdentity(target.Length, target.LastWriteTimeUtc, ReadInode(target.FullName));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>st_ino from stat(2); 0 where there is none to read (Windows, an old libc). It sits at
        /// byte 8 of struct stat on every 64-bit Linux (x86_64 and the generic layout of arm64).</summary>
        private static ulong ReadInode(string path)
        {
            if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess) return 0;
            try
            {
                var buffer = new byte[256];
                return stat(path, buffer) == 0 ? BitConverter.ToUInt64(buffer, 8) : 0;
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                return 0;
            }
        }

        [DllImport("libc.so.6", CharSet = CharSet.Ansi, SetLastError = true)]
        private static extern int stat(string path, byte[] buffer);
    }
}
